//! `crawler`: crawl a seed list into a store, then query what it stored.
//!
//! This crate is the only one that prints, parses flags or picks exit codes; the
//! engine (`crawler-core`) and the store (`crawler-storage`) report typed errors.

mod args;
mod commands;
mod report;

use std::process::ExitCode;

use clap::Parser;

use args::{Cli, Command};

/// glibc's allocator spends a tenth of a crawl's CPU time contending between 16
/// workers; mimalloc's per-thread heaps do not.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// An error with the exit code it deserves.
pub enum Failure {
    /// Bad usage: bad flag values, bad seeds (exit 2).
    Usage(String),
    /// Anything else (exit 1).
    Error(anyhow::Error),
}

impl<E: Into<anyhow::Error>> From<E> for Failure {
    fn from(error: E) -> Failure {
        Failure::Error(error.into())
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Crawl(args) => commands::crawl::run(*args),
        Command::Stats(args) => commands::query::stats(args),
        Command::Ls(args) => commands::query::ls(args),
        Command::Get(args) => commands::query::get(args),
        Command::Demo(args) => commands::demo::run(args),
    };
    match result {
        Ok(code) => code,
        Err(Failure::Usage(message)) => {
            eprintln!("crawler: {message}");
            ExitCode::from(2)
        }
        Err(Failure::Error(error)) => {
            eprintln!("crawler: {error:#}");
            ExitCode::from(1)
        }
    }
}
