//! One module per subcommand.

pub mod check;
pub mod completions;
pub mod crawl;
pub mod demo;
pub mod export;
pub mod get;
pub mod links;
pub mod ls;
mod maintenance;
pub mod man;
pub mod merge;
pub mod reading;
pub mod repair;
pub mod robots;
pub mod stats;
pub mod top;
mod visits;
