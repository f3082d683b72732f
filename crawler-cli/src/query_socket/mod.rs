//! Queries answered by a running crawl. A store is open in one process at a time, so
//! while `crawler crawl` runs, `stats`, `ls` and `get` cannot open its store; instead
//! the crawl listens on a Unix socket ([`Server`]), named in the store's lock-holder
//! file, and a refused query sends it its command line ([`ask`]). The crawl runs the
//! same command code on its own open store and sends back what it writes and the
//! outcome: what the crawl has stored so far, consistent with its counters.
//!
//! The exchange is frames: a tag byte, a big-endian `u32` length, that many bytes.
//! The client sends one `Q` frame (a JSON [`Request`]); the crawl answers with `O`
//! frames (the command's output) and then one `E` frame (a JSON [`Outcome`]).
//!
//! One thread serves one query at a time. It holds no lock the crawl needs (the
//! store's reads take none that writes wait on), a client that stops reading fails
//! the query after [`WRITE_PATIENCE`], and when the crawl ends a query still running
//! fails at its next write, so the end is not held up. Only the crawl's user may
//! connect: the socket is made mode 0600, and each connection's peer is checked.
//!
//! `frames.rs` holds what both sides share (the frames, the request and outcome, where
//! the socket goes); `server.rs` is the crawl's side, `client.rs` the asking command's.
//! The two sides are apart so that the reading commands (which ask) and the server
//! (which runs them) do not import each other.

pub mod client;
mod frames;
pub mod server;
