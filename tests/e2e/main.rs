//! End-to-end tests: the real `crawler` binary (and the library) against the fixtures
//! web, judged from the server's request log and from what the store holds.

mod adaptive;
mod bad_input;
mod breadth;
mod budgets;
mod cli;
mod cluster;
mod cluster_dead_letters;
mod cluster_politeness;
mod config_file;
mod cookies;
mod crawl;
mod damage;
mod data_exports;
mod exports;
mod extraction;
mod fetching;
mod first_steps;
mod hostile_input;
mod hostile_server;
mod hostile_support;
mod hostile_web;
mod in_use;
mod live;
mod live_queries;
mod logging;
mod multi_store;
mod order;
mod politeness;
mod progress_bar;
mod proxies;
mod queries;
mod readme;
mod recrawl;
mod render;
mod request_options;
mod requisites;
mod resources;
mod resume;
mod revisits;
mod security;
mod ssrf;
mod top;

/// The `crawler` binary Cargo built for these tests.
pub const CRAWLER: crawler_tests::CrawlerBinary = crawler_tests::CrawlerBinary;
