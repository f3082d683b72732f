//! The README's flag tables say what `crawler crawl --help` says: the same flags, and
//! where a table has a default column, the same defaults (which `--help` takes from
//! `CrawlConfig::default()`).

use std::collections::{BTreeMap, BTreeSet};

use crawler_tests::run;

use crate::CRAWLER;

/// One flag of `--help`: its names (long, short, aliases), whether it takes a value,
/// and the default it shows.
#[derive(Debug)]
struct HelpFlag {
    names: Vec<String>,
    takes_value: bool,
    default: Option<String>,
}

/// The flags of `crawler crawl --help` (the long form: a line naming the flag, then
/// its indented paragraphs), under whichever heading (`Options:`, `Scope:`, ...).
fn help_flags() -> Vec<HelpFlag> {
    let help = run(CRAWLER, &["crawl", "--help"]).success().stdout();
    let mut flags: Vec<(String, String)> = Vec::new();
    let mut in_options = false;
    for line in help.lines() {
        if !line.starts_with(' ') && !line.is_empty() {
            in_options = line.ends_with(':') && !["Arguments:", "Exit codes:"].contains(&line);
        } else if in_options && (line.starts_with("  -") || line.starts_with("      --")) {
            flags.push((line.trim().to_owned(), String::new()));
        } else if let Some((_, text)) = flags.last_mut().filter(|_| in_options) {
            text.push(' ');
            text.push_str(line.trim());
        }
    }
    flags
        .into_iter()
        .map(|(head, text)| {
            // Wrapped lines joined, so that a `[default: ...]` split by wrapping is whole.
            let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
            let mut names: Vec<String> = head
                .split(", ")
                .filter_map(|part| part.split([' ', '<']).next())
                .map(|name| name.trim_end_matches('.').to_owned())
                .collect();
            for aliases in [bracketed(&text, "alias"), bracketed(&text, "aliases")]
                .into_iter()
                .flatten()
            {
                names.extend(aliases.split(", ").map(str::to_owned));
            }
            HelpFlag {
                names,
                takes_value: head.contains('<'),
                default: bracketed(&text, "default"),
            }
        })
        .collect()
}

/// `X` of `[name: X]` in `text`.
fn bracketed(text: &str, name: &str) -> Option<String> {
    let start = text.find(&format!("[{name}: "))? + name.len() + 3;
    let end = start + text[start..].find(']')?;
    Some(text[start..end].to_owned())
}

/// One row of a README table whose first column is `flag`: the flags its first cell
/// names, and its default cell when the table has one.
#[derive(Debug)]
struct ReadmeRow {
    line: usize,
    flags: Vec<String>,
    default: Option<String>,
}

fn readme_rows() -> Vec<ReadmeRow> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md");
    let readme =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"));
    let cells = |line: &str| -> Vec<String> {
        // `\|` inside a cell is a literal bar.
        let line = line.trim().replace("\\|", "\u{1}");
        let line = line.trim_start_matches('|').trim_end_matches('|');
        line.split('|')
            .map(|cell| cell.trim().replace('\u{1}', "|"))
            .collect()
    };
    let lines: Vec<&str> = readme.lines().collect();
    let mut rows = Vec::new();
    let mut default_column: Option<Option<usize>> = None;
    for (at, line) in lines.iter().enumerate() {
        if !line.starts_with('|') {
            default_column = None;
            continue;
        }
        let is_header = lines
            .get(at + 1)
            .is_some_and(|next| next.starts_with("|---"));
        if is_header {
            let header = cells(line);
            default_column = (header.first().map(String::as_str) == Some("flag"))
                .then(|| header.iter().position(|cell| cell == "default"));
            continue;
        }
        let Some(default_column) = default_column else {
            continue;
        };
        if line.starts_with("|---") {
            continue;
        }
        let row = cells(line);
        // The flags are the first words of the backquoted parts of the first cell.
        let flags = row[0]
            .split('`')
            .skip(1)
            .step_by(2)
            .filter_map(|code| code.split_whitespace().next())
            .filter(|word| word.starts_with('-'))
            .map(str::to_owned)
            .collect();
        rows.push(ReadmeRow {
            line: at + 1,
            flags,
            default: default_column.map(|column| row.get(column).cloned().unwrap_or_default()),
        });
    }
    rows
}

/// `-vv` and `-vvv` are `-v` given more than once.
fn as_given_once(flag: &str) -> &str {
    let Some(letters) = flag.strip_prefix('-').filter(|l| !l.starts_with('-')) else {
        return flag;
    };
    match letters.chars().next() {
        Some(first) if letters.chars().all(|c| c == first) => &flag[..1 + first.len_utf8()],
        _ => flag,
    }
}

#[test]
fn the_readme_flag_tables_match_crawl_help() {
    let help = help_flags();
    assert!(help.len() > 30, "too few flags read from --help: {help:?}");
    let by_name: BTreeMap<&str, &HelpFlag> = help
        .iter()
        .flat_map(|flag| flag.names.iter().map(move |name| (name.as_str(), flag)))
        .collect();
    let rows = readme_rows();
    let mut documented = BTreeSet::new();
    let mut problems = Vec::new();
    for row in &rows {
        for name in &row.flags {
            let Some(flag) = by_name.get(as_given_once(name)) else {
                problems.push(format!(
                    "README.md:{}: {name} is not a flag of crawler crawl",
                    row.line
                ));
                continue;
            };
            documented.insert(flag.names[0].as_str());
            let Some(readme_default) = &row.default else {
                continue;
            };
            let readme_default = readme_default.replace('`', "");
            match &flag.default {
                Some(help_default) if *help_default != readme_default => problems.push(format!(
                    "README.md:{}: {name} defaults to {readme_default:?}, --help says {help_default:?}",
                    row.line
                )),
                Some(_) => {}
                None => {
                    let no_value = ["", "none", "off"].contains(&readme_default.as_str())
                        || readme_default.starts_with('(');
                    if !no_value || (readme_default == "off" && flag.takes_value) {
                        problems.push(format!(
                            "README.md:{}: {name} defaults to {readme_default:?}, --help shows no default",
                            row.line
                        ));
                    }
                }
            }
        }
    }
    for flag in &help {
        let name = flag.names[0].as_str();
        let standard = ["-h", "-V"].contains(&name);
        if !standard && !documented.contains(name) {
            problems.push(format!(
                "{} ({}) is in crawler crawl --help but in no README flag table",
                flag.names.join(", "),
                flag.default
                    .as_deref()
                    .map_or("no default".to_owned(), |d| format!("default {d}"))
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
