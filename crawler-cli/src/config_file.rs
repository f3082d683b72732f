//! `crawler crawl --config FILE`: the crawl's flags from a TOML file.
//!
//! A key is the long name of a `crawl` flag (`per-host-rate = 2.0`, `deny = ["\\?sort="]`,
//! `ignore-robots = true`), plus `seeds = [URL, ...]` for the seed arguments and
//! `seed-file` for `--seeds FILE`. Rather than keeping a second list of settings, each
//! key is looked up among the clap definitions of `crawl` and turned into the
//! command-line arguments it stands for, checked with that flag's own value parser;
//! the file's arguments then go before the command line's, and the whole is parsed
//! once. So every flag is a key, with one help text, one parser and one validation,
//! and a flag on the command line beats the file's key because the key is left out.
//!
//! Relative paths (`store`, `seed-file`) are taken from the file's directory, so a
//! config file works from wherever it is run.
//!
//! One table is not a flag: `[hosts."HOST"]` (a host, or host:port) holds the
//! headers and credentials of one host, which no flag could say.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::Path;

use clap::parser::ValueSource;
use clap::{Arg, ArgAction, ArgMatches, Command, ValueHint};
use crawler_core::HostConfig;
use serde::Deserialize;
use toml::de::{DeTable, DeValue};
use toml::Spanned;

/// Where each setting taken from a file came from: key -> `FILE:LINE`.
pub type Origins = BTreeMap<String, String>;

/// The command-line arguments a config file stands for.
#[derive(Debug, Default)]
pub struct FileArgs {
    /// To go right after `crawl`, before the command line's own arguments.
    pub args: Vec<OsString>,
    /// The keys the file set (and the command line did not), with where.
    pub origins: Origins,
    /// The `[hosts."HOST"]` tables.
    pub hosts: BTreeMap<String, HostConfig>,
}

/// The key of the per-host tables.
const HOSTS_KEY: &str = "hosts";

/// The file's `[hosts]` tables, read by their own rules (serde's, unknown keys refused).
#[derive(Deserialize)]
struct HostsTables {
    #[serde(default)]
    hosts: BTreeMap<String, HostConfig>,
}

/// Flags that are actions for one run, not settings a file should repeat.
const NOT_IN_A_FILE: [(&str, &str); 5] = [
    ("config", "a config file cannot name another"),
    (
        "fresh",
        "it deletes the stored crawl; give --fresh on the command line when you mean it",
    ),
    ("force", "give --fresh --force on the command line instead"),
    (
        "retry-errors",
        "it queues failed URLs again once; give it on the command line of the run that should",
    ),
    ("help", "run crawler crawl --help"),
];

/// The key that stands for the seed URL arguments.
const SEEDS_KEY: &str = "seeds";

/// Reads `path` and turns its keys into arguments of `crawl` (the built subcommand).
/// `given` are the command line's matches of `crawl`: a flag given there is left out.
pub fn load(path: &Path, crawl: &Command, given: &ArgMatches) -> Result<FileArgs, String> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| {
        format!("--config {shown}: {e} (give the path of a TOML file of crawl settings)")
    })?;
    let table = DeTable::parse(&text).map_err(|e| {
        let line = e.span().map_or(1, |span| line_of(&text, span.start));
        format!("{shown}:{line}: not valid TOML: {}", e.message().trim_end())
    })?;
    let base = path.parent().unwrap_or(Path::new(""));
    let mut file = FileArgs::default();
    // In the file's order, so that of two keys that cancel out the later one wins.
    let mut entries: Vec<_> = table.get_ref().iter().collect();
    entries.sort_by_key(|(key, _)| key.span().start);
    for (key, value) in entries {
        let name: &str = key.get_ref();
        let at = format!("{shown}:{}", line_of(&text, key.span().start));
        if name == HOSTS_KEY {
            let tables: HostsTables = toml::from_str(&text).map_err(|e| {
                let line = e.span().map_or(1, |span| line_of(&text, span.start));
                format!("{shown}:{line}: [hosts]: {}", e.message().trim_end())
            })?;
            file.hosts = tables.hosts;
            file.origins.insert(name.to_owned(), at);
            continue;
        }
        let arg = find_arg(crawl, name).map_err(|why| format!("{at}: {why}"))?;
        let args = arguments(name, arg, crawl, value, base)
            .map_err(|why| format!("{at}: {name}: {why}"))?;
        let on_command_line =
            |arg: &Arg| given.value_source(arg.get_id().as_str()) == Some(ValueSource::CommandLine);
        // The command line wins: over the same flag, and over a flag it excludes
        // (`-q` on the command line drops the file's `verbose`).
        let excludes = |a: &Arg, b: &Arg| {
            crawl
                .get_arg_conflicts_with(a)
                .iter()
                .any(|c| c.get_id() == b.get_id())
        };
        let overruled = on_command_line(arg)
            || crawl
                .get_arguments()
                .filter(|other| on_command_line(other))
                .any(|other| excludes(other, arg) || excludes(arg, other));
        if !overruled {
            file.args.extend(args);
            file.origins.insert(name.to_owned(), at);
        }
    }
    Ok(file)
}

/// `argv` with the file's arguments inserted right after the `crawl` subcommand.
pub fn with_file_args(mut argv: Vec<OsString>, file_args: Vec<OsString>) -> Vec<OsString> {
    let at = (1..argv.len())
        .find(|&i| argv[i] == "crawl" && argv[i - 1] != "--log-format")
        .map_or(argv.len(), |i| i + 1);
    argv.splice(at..at, file_args);
    argv
}

/// The 1-based line of a byte offset.
fn line_of(text: &str, offset: usize) -> usize {
    let before = text.get(..offset).unwrap_or(text);
    before.bytes().filter(|&b| b == b'\n').count() + 1
}

fn find_arg<'c>(crawl: &'c Command, key: &str) -> Result<&'c Arg, String> {
    if let Some((_, why)) = NOT_IN_A_FILE.iter().find(|(k, _)| *k == key) {
        return Err(format!("{key} cannot be set in a config file: {why}"));
    }
    if key == SEEDS_KEY {
        return crawl
            .get_positionals()
            .next()
            .ok_or_else(|| "seeds: crawl takes no seed arguments".to_owned());
    }
    crawl
        .get_arguments()
        .find(|arg| {
            arg.get_long() == Some(key)
                || arg
                    .get_all_aliases()
                    .is_some_and(|aliases| aliases.contains(&key))
        })
        .ok_or_else(|| unknown_key(crawl, key))
}

fn unknown_key(crawl: &Command, key: &str) -> String {
    let known = crawl
        .get_arguments()
        .filter_map(Arg::get_long)
        .chain([SEEDS_KEY, HOSTS_KEY])
        .filter(|long| !NOT_IN_A_FILE.iter().any(|(k, _)| k == long));
    let closest = known
        .map(|long| (edit_distance(key, long), long))
        .min()
        .filter(|(distance, _)| *distance <= 3);
    let hint = closest.map_or(String::new(), |(_, long)| {
        format!(" (did you mean {long}?)")
    });
    format!(
        "unknown key {key:?}{hint}; keys are the long flags of `crawler crawl` (see crawler crawl --help), plus seeds = [URL, ...] and [hosts.\"HOST\"] tables"
    )
}

/// The arguments one key stands for, its values checked by the flag's own parser.
fn arguments(
    key: &str,
    arg: &Arg,
    crawl: &Command,
    value: &Spanned<DeValue<'_>>,
    base: &Path,
) -> Result<Vec<OsString>, String> {
    let long = arg.get_long().unwrap_or(key);
    let value = value.get_ref();
    match arg.get_action() {
        ArgAction::SetTrue => {
            let Some(on) = value.as_bool() else {
                return Err(format!("expected true or false, found {}", kind(value)));
            };
            Ok(switch(crawl, long, on))
        }
        ArgAction::Count => match value {
            DeValue::Boolean(on) => Ok(if *on { vec![flag(long)] } else { vec![] }),
            DeValue::Integer(n) => match i64::from_str_radix(n.as_str(), n.radix()) {
                Ok(times @ 0..=3) => Ok((0..times).map(|_| flag(long)).collect()),
                _ => Err(format!("expected a count from 0 to 3, found {n}")),
            },
            other => Err(format!(
                "expected a count from 0 to 3, found {}",
                kind(other)
            )),
        },
        _ => {
            let values = values(key, arg, value)?;
            let mut args = Vec::new();
            for text in values {
                let text = relative_to(base, arg, text);
                check(arg, &text)?;
                args.push(if arg.is_positional() {
                    OsString::from(text)
                } else {
                    // `--flag=value`, so a value starting with `-` stays a value.
                    OsString::from(format!("--{long}={text}"))
                });
            }
            Ok(args)
        }
    }
}

/// `key = true` is the flag; `key = false` is its `no-` twin if it has one (or the
/// other way round), else nothing: every switch is off by default.
fn switch(crawl: &Command, long: &str, on: bool) -> Vec<OsString> {
    if on {
        return vec![flag(long)];
    }
    let twin = match long.strip_prefix("no-") {
        Some(positive) => positive.to_owned(),
        None => format!("no-{long}"),
    };
    let has_twin = crawl
        .get_arguments()
        .any(|arg| arg.get_long() == Some(twin.as_str()));
    if has_twin {
        vec![flag(&twin)]
    } else {
        Vec::new()
    }
}

fn flag(long: &str) -> OsString {
    OsString::from(format!("--{long}"))
}

/// The value as text: one for most flags, a list for repeatable ones and seeds.
fn values(key: &str, arg: &Arg, value: &DeValue<'_>) -> Result<Vec<String>, String> {
    let repeatable = matches!(arg.get_action(), ArgAction::Append) || arg.is_positional();
    let expected = || expected(arg);
    match value {
        DeValue::Array(items) if repeatable => items
            .iter()
            .map(|item| {
                scalar(item.get_ref()).ok_or_else(|| {
                    format!(
                        "expected a list of {}, found a list holding {}",
                        expected(),
                        kind(item.get_ref())
                    )
                })
            })
            .collect(),
        DeValue::Array(_) => Err(format!("expected one {}, found a list", expected())),
        DeValue::String(_) if key == SEEDS_KEY => Err(format!(
            "expected a list of URLs like seeds = [\"https://example.test/\"]; for a seed list file write seed-file = {:?}",
            scalar(value).unwrap_or_default()
        )),
        other => match scalar(other) {
            Some(text) => Ok(vec![text]),
            None => Err(format!("expected {}, found {}", expected(), kind(other))),
        },
    }
}

/// What a flag takes, from its definition: `R (Requests per second per host, ... [default: 2])`.
fn expected(arg: &Arg) -> String {
    let name = arg
        .get_value_names()
        .and_then(|names| names.first())
        .map_or_else(|| "a value".to_owned(), ToString::to_string);
    let default = match arg.get_default_values() {
        [value] if arg.get_action().takes_values() => {
            format!(" [default: {}]", value.to_string_lossy())
        }
        _ => String::new(),
    };
    match arg.get_help() {
        Some(help) => format!(
            "{name} ({}{default})",
            help.to_string().trim_end_matches('.')
        ),
        None => name,
    }
}

/// Strings as they are; numbers as TOML wrote them.
fn scalar(value: &DeValue<'_>) -> Option<String> {
    match value {
        DeValue::String(text) => Some(text.to_string()),
        DeValue::Integer(n) => i64::from_str_radix(n.as_str(), n.radix())
            .ok()
            .map(|n| n.to_string()),
        DeValue::Float(f) => Some(f.as_str().replace('_', "")),
        _ => None,
    }
}

fn kind(value: &DeValue<'_>) -> &'static str {
    match value {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "an integer",
        DeValue::Float(_) => "a number",
        DeValue::Boolean(_) => "a boolean",
        DeValue::Datetime(_) => "a date",
        DeValue::Array(_) => "a list",
        DeValue::Table(_) => "a table (keys go at the top level, without [sections])",
    }
}

/// A relative path in a file is relative to the file.
fn relative_to(base: &Path, arg: &Arg, text: String) -> String {
    let is_path = matches!(
        arg.get_value_hint(),
        ValueHint::FilePath | ValueHint::DirPath | ValueHint::AnyPath
    );
    if !is_path || text == "-" || Path::new(&text).is_absolute() || base.as_os_str().is_empty() {
        return text;
    }
    base.join(&text).to_string_lossy().into_owned()
}

/// Runs the flag's own value parser on `text`, so a bad value is reported at its
/// line rather than later without one.
fn check(arg: &Arg, text: &str) -> Result<(), String> {
    let probe = Arg::new("value")
        .long("value")
        .value_parser(arg.get_value_parser().clone())
        .allow_negative_numbers(true)
        .num_args(1);
    let result = Command::new("crawl")
        .no_binary_name(true)
        .arg(probe)
        .try_get_matches_from([format!("--value={text}")]);
    match result {
        Ok(_) => Ok(()),
        Err(error) => {
            let rendered = error.to_string();
            let why = rendered
                .lines()
                .filter(|line| !line.trim().is_empty() && !line.contains("--help"))
                .map(|line| line.trim().trim_start_matches("error: "))
                .collect::<Vec<_>>()
                .join(" ")
                .replace(" for '--value <value>'", "");
            if why.contains("expected") || why.contains("possible values") {
                Err(why)
            } else {
                Err(format!("{why}; expected {}", expected(arg)))
            }
        }
    }
}

/// Levenshtein distance, for "did you mean".
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1)
                .min(row[j] + 1)
                .min(diagonal + usize::from(ca != *cb));
            diagonal = above;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::args::Cli;
    use clap::CommandFactory;

    /// The built `crawl` subcommand and the matches of `crawl` with `flags`.
    fn crawl_with(flags: &[&str]) -> (Command, ArgMatches) {
        let mut cli = Cli::command();
        cli.build();
        let crawl = cli.find_subcommand("crawl").expect("crawl").clone();
        let argv = ["crawler", "crawl"].iter().chain(flags);
        let matches = Cli::command().get_matches_from(argv);
        let crawl_matches = matches.subcommand_matches("crawl").expect("crawl").clone();
        (crawl, crawl_matches)
    }

    fn load_text(text: &str, flags: &[&str]) -> Result<FileArgs, String> {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("crawl.toml");
        std::fs::write(&path, text).expect("write");
        let (crawl, given) = crawl_with(flags);
        load(&path, &crawl, &given).map_err(|e| e.replace(&path.display().to_string(), "FILE"))
    }

    fn strings(file: &FileArgs) -> Vec<String> {
        file.args
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn keys_become_the_flags_they_name() {
        let file = load_text(
            "per-host-rate = 0.5\nworkers = 4\ndeny = ['a', 'b']\nignore-robots = true\nsitemaps = false\nseeds = ['http://a.test/']\n",
            &[],
        )
        .unwrap();
        assert_eq!(
            strings(&file),
            [
                "--per-host-rate=0.5",
                "--workers=4",
                "--deny=a",
                "--deny=b",
                "--ignore-robots",
                "--no-sitemaps",
                "http://a.test/"
            ]
        );
        assert!(file.origins["workers"].ends_with("crawl.toml:2"));
    }

    #[test]
    fn a_flag_on_the_command_line_leaves_the_key_out() {
        let file = load_text("workers = 4\ntimeout = 5\n", &["--workers", "8"]).unwrap();
        assert_eq!(strings(&file), ["--timeout=5"]);
        assert!(!file.origins.contains_key("workers"));
    }

    #[test]
    fn unknown_keys_and_bad_values_name_key_and_line() {
        let error = load_text("workers = 4\n\nper-host-rat = 2\n", &[]).unwrap_err();
        assert!(
            error.starts_with("FILE:3: unknown key \"per-host-rat\""),
            "{error}"
        );
        assert!(error.contains("did you mean per-host-rate?"), "{error}");

        let error = load_text("per-host-rate = \"fast\"\n", &[]).unwrap_err();
        assert!(error.starts_with("FILE:1: per-host-rate: "), "{error}");
        assert!(
            error.contains("fast") && error.contains("expected R"),
            "{error}"
        );

        let error = load_text("# comment\nscope = \"hosts\"\n", &[]).unwrap_err();
        assert!(error.starts_with("FILE:2: scope:"), "{error}");
        assert!(error.contains("host, hostname, domain, all"), "{error}");

        let error = load_text("max-body = \"ten\"\n", &[]).unwrap_err();
        assert!(error.contains("FILE:1: max-body:"), "{error}");

        let error = load_text("ignore-robots = \"yes\"\n", &[]).unwrap_err();
        assert!(error.contains("expected true or false"), "{error}");

        let error = load_text("workers = [1, 2]\n", &[]).unwrap_err();
        assert!(error.contains("found a list"), "{error}");

        let error = load_text("seeds = \"seeds.txt\"\n", &[]).unwrap_err();
        assert!(error.contains("seed-file = \"seeds.txt\""), "{error}");

        let error = load_text("fresh = true\n", &[]).unwrap_err();
        assert!(error.contains("command line"), "{error}");

        let error = load_text("workers = \n", &[]).unwrap_err();
        assert!(error.starts_with("FILE:1: not valid TOML"), "{error}");
    }

    #[test]
    fn a_flag_on_the_command_line_drops_a_key_it_excludes() {
        let file = load_text("verbose = 2\nworkers = 3\n", &["-q"]).unwrap();
        assert_eq!(strings(&file), ["--workers=3"]);
        let file = load_text("verbose = 2\n", &[]).unwrap();
        assert_eq!(strings(&file), ["--verbose", "--verbose"]);
    }

    #[test]
    fn relative_paths_are_taken_from_the_file() {
        let file = load_text("seed-file = 'seeds.txt'\nstore = '/abs/store'\n", &[]).unwrap();
        let args = strings(&file);
        assert!(args[0].starts_with("--seeds=") && args[0].ends_with("seeds.txt"));
        assert!(Path::new(args[0].trim_start_matches("--seeds=")).is_absolute());
        assert_eq!(args[1], "--store=/abs/store");
    }

    #[test]
    fn file_arguments_go_right_after_crawl() {
        let argv = ["crawler", "-v", "crawl", "--store", "s"].map(OsString::from);
        let merged = with_file_args(argv.to_vec(), vec![OsString::from("--workers=2")]);
        assert_eq!(merged[3], "--workers=2");
        assert_eq!(merged[4], "--store");
    }

    #[test]
    fn edit_distance_counts_edits() {
        assert_eq!(edit_distance("per-host-rat", "per-host-rate"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}
