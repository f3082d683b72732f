//! One module per subcommand.

pub mod completions;
pub mod crawl;
pub mod demo;
pub mod export;
pub mod get;
pub mod links;
pub mod ls;
pub mod man;
mod reading;
pub mod robots;
pub mod stats;
