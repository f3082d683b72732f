//! The cluster crate against a real `redis-server` (started per test by
//! `crawler_fixtures::RedisServer` on a free loopback port; `shards` runs some of
//! the same tests on a `RedisCluster` of three shards).
//!
//! Without `redis-server` installed, every test fails on CI (`CI=true`; `.ci/run`
//! installs it) and is skipped with a message elsewhere.

mod balance;
mod dead_letter;
mod enqueue;
mod fencing;
mod harness;
mod politeness;
mod restart;
mod secrets;
mod settings;
mod shards;
mod slots;
mod tls;
mod totals;
