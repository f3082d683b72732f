//! One module per subcommand.

pub mod crawl;
pub mod demo;
pub mod export;
pub mod get;
pub mod links;
pub mod ls;
mod reading;
pub mod robots;
pub mod stats;
