//! `crawler completions SHELL`: a completion script made from the clap definitions,
//! so it always knows every flag `crawler --help` shows.

use std::process::ExitCode;

use clap::builder::ValueHint;
use clap::{Command, CommandFactory, Id};

use crate::args::{Cli, CompletionsArgs};
use crate::Failure;

pub fn run(args: CompletionsArgs) -> Result<ExitCode, Failure> {
    let mut command = values_are_text(Cli::command());
    let mut out = std::io::stdout().lock();
    clap_complete::generate(args.shell, &mut command, "crawler", &mut out);
    Ok(ExitCode::SUCCESS)
}

/// A flag's value with no hint of its own (a number, a regex, a URL, a user agent) is
/// completed as nothing rather than as a file name; paths have their hint (`PathBuf`
/// values get one from clap), and names their list of possible values.
fn values_are_text(command: Command) -> Command {
    let text: Vec<Id> = command
        .get_arguments()
        .filter(|arg| {
            !arg.is_positional()
                && arg.get_action().takes_values()
                && arg.get_value_hint() == ValueHint::Unknown
                && arg.get_possible_values().is_empty()
        })
        .map(|arg| arg.get_id().clone())
        .collect();
    let command = text.into_iter().fold(command, |command, id| {
        command.mut_arg(id, |arg| arg.value_hint(ValueHint::Other))
    });
    let subcommands: Vec<String> = command
        .get_subcommands()
        .map(|sub| sub.get_name().to_owned())
        .collect();
    subcommands.into_iter().fold(command, |command, name| {
        command.mut_subcommand(name, values_are_text)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `crawler crawl` as the completions see it.
    fn crawl() -> Command {
        let command = values_are_text(Cli::command());
        let found = command.find_subcommand("crawl").cloned();
        found.expect("crawl")
    }

    fn arg<'c>(command: &'c Command, long: &str) -> &'c clap::Arg {
        let found = command.get_arguments().find(|a| a.get_long() == Some(long));
        found.unwrap_or_else(|| panic!("--{long}"))
    }

    #[test]
    fn only_paths_complete_as_files_and_names_as_their_choices() {
        let crawl = crawl();
        for text in [
            "user-agent",
            "allow",
            "workers",
            "resolve",
            "timeout",
            "sitemap",
        ] {
            assert_eq!(
                arg(&crawl, text).get_value_hint(),
                ValueHint::Other,
                "--{text}"
            );
        }
        assert_eq!(arg(&crawl, "store").get_value_hint(), ValueHint::DirPath);
        assert_eq!(arg(&crawl, "seeds").get_value_hint(), ValueHint::FilePath);
        let scope: Vec<String> = arg(&crawl, "scope")
            .get_possible_values()
            .iter()
            .map(|value| value.get_name().to_owned())
            .collect();
        assert_eq!(scope, ["host", "hostname", "domain", "all"]);
    }
}
