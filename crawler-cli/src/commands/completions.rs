//! `crawler completions SHELL`: a completion script made from the clap definitions,
//! so it always knows every flag `crawler --help` shows.

use std::process::ExitCode;

use clap::CommandFactory;

use crate::args::{Cli, CompletionsArgs};
use crate::Failure;

pub fn run(args: CompletionsArgs) -> Result<ExitCode, Failure> {
    let mut command = Cli::command();
    let mut out = std::io::stdout().lock();
    clap_complete::generate(args.shell, &mut command, "crawler", &mut out);
    Ok(ExitCode::SUCCESS)
}
