//! The command line as the commands see it: the flags, with `crawl --config FILE`'s
//! keys put in as the flags they name, and which crawl settings were given at all.
//!
//! Knowing what was *given* (not merely what differs from the default) matters on
//! resume: `--per-host-rate 2` must override a stored 5 even though 2 is the default.

use std::collections::BTreeSet;
use std::ffi::OsString;

use clap::parser::ValueSource;
use clap::{ArgMatches, CommandFactory, FromArgMatches};

use crate::args::{Cli, Command};
use crate::config_file;
use crate::{escape, terminal};

/// Parses the process's arguments. Clap's own usage errors exit here (code 2); a bad
/// config file is returned as the message to print.
pub fn parse() -> Result<Cli, String> {
    let argv: Vec<OsString> = std::env::args_os().collect();
    let matches = Cli::command()
        .try_get_matches_from(&argv)
        .unwrap_or_else(|e| exit_on(e, &argv));
    let mut cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| exit_on(e, &argv));
    let Command::Crawl(crawl) = &mut cli.command else {
        return Ok(cli);
    };
    let Some(given) = matches.subcommand_matches("crawl") else {
        return Ok(cli);
    };
    let Some(path) = crawl.config.clone() else {
        crawl.given = given_settings(given);
        return Ok(cli);
    };
    let mut definition = Cli::command();
    definition.build();
    let Some(crawl_definition) = definition.find_subcommand("crawl") else {
        return Ok(cli);
    };
    let file = config_file::load(&path, crawl_definition, given)?;
    // The file's arguments go first, so the command line's own win where both speak.
    let argv = config_file::with_file_args(argv, file.args);
    let matches = Cli::command()
        .try_get_matches_from(&argv)
        .unwrap_or_else(|e| exit_on(e, &argv));
    let mut cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| exit_on(e, &argv));
    if let (Command::Crawl(crawl), Some(given)) =
        (&mut cli.command, matches.subcommand_matches("crawl"))
    {
        crawl.origins = file.origins;
        crawl.given = given_settings(given);
        if !file.hosts.is_empty() {
            crawl.given.insert("hosts".to_owned());
        }
        crawl.hosts = file.hosts;
    }
    Ok(cli)
}

/// Ends the process on clap's error (or its help and version, which are not errors).
///
/// A usage error quotes the value given, and on a terminal clap writes it as it is:
/// control characters in it would be obeyed (a window title set, the screen cleared).
/// When an argument holds any, the message is made again from the arguments with
/// those characters escaped, so it quotes `a\x1b]0;...` instead, and is printed
/// without colours.
fn exit_on(error: clap::Error, argv: &[OsString]) -> ! {
    let texts: Vec<String> = argv
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    if !texts.iter().any(|t| t.chars().any(escape::is_unsafe)) {
        error.exit();
    }
    let escaped_argv: Vec<String> = texts.iter().map(|t| escape::escape(t)).collect();
    let message = match Cli::command().try_get_matches_from(escaped_argv) {
        Err(again) if again.kind() == error.kind() => again.to_string(),
        _ => error.to_string(),
    };
    let line = format!("{}\n", escape::escaped_lines(message.trim_end()));
    let _ = terminal::write_stderr(line.as_bytes());
    std::process::exit(error.exit_code());
}

/// The `CrawlConfig` fields that flags (or config keys) set, by field name.
fn given_settings(crawl: &ArgMatches) -> BTreeSet<String> {
    crawl
        .ids()
        .filter(|id| crawl.value_source(id.as_str()) == Some(ValueSource::CommandLine))
        // Clap also lists the group of each flattened struct, named after the struct.
        .filter(|id| !id.as_str().starts_with(|c: char| c.is_ascii_uppercase()))
        .map(|id| setting_of_flag(id.as_str()).to_owned())
        .collect()
}

/// The `CrawlConfig` field a flag sets (flags are named after their field, but for these).
fn setting_of_flag(id: &str) -> &str {
    match id {
        "max_repeated_segments" => "max_segment_repeats",
        "no_sitemaps" => "sitemaps",
        "sitemap" => "sitemap_urls",
        "header" => "headers",
        "revisit_after" | "revisit_min" | "revisit_max" => "revisit",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn given_flags_are_named_by_their_setting_even_at_the_default_value() {
        let matches = Cli::command().get_matches_from([
            "crawler",
            "crawl",
            "--store",
            "s",
            "--per-host-rate",
            "2",
            "--no-sitemaps",
            "--max-repeated-segments",
            "3",
        ]);
        let given = given_settings(matches.subcommand_matches("crawl").unwrap());
        let expected = ["max_segment_repeats", "per_host_rate", "sitemaps", "store"];
        assert_eq!(given, expected.map(String::from).into_iter().collect());
    }

    #[test]
    fn every_crawl_flag_names_a_setting_or_is_an_action() {
        let config = serde_json::to_value(crawler_core::CrawlConfig::default()).unwrap();
        let actions = [
            "urls",
            "config",
            "seeds",
            // Loaded by the run it is given to, into the jar the store keeps.
            "cookies",
            "json",
            "fresh",
            "force",
            "skip_bad_seeds",
            "retry_errors",
            // Where the crawl is shared: the URL may hold a password.
            "url",
            "crawl_id",
            "node",
            "lease",
            "max_deliveries",
            "no_progress",
            "listen",
            "verbose",
            "quiet",
            "log_format",
            "help",
            "version",
        ];
        // Settings never stored with the crawl (they may hold credentials, or name
        // this machine's browser).
        let unstored = ["proxy", "no_proxy", "chrome"];
        let mut cli = Cli::command();
        cli.build();
        let crawl = cli.find_subcommand("crawl").unwrap();
        for arg in crawl.get_arguments() {
            let id = arg.get_id().as_str();
            if !actions.contains(&id) && !unstored.contains(&id) {
                assert!(
                    config.get(setting_of_flag(id)).is_some(),
                    "--{id} sets no setting"
                );
            }
        }
    }
}
