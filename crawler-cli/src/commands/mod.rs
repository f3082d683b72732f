//! One module per subcommand.

pub mod crawl;
pub mod demo;
pub mod query;
