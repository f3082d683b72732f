//! `crawler man`: the manual pages in roff, made from the clap definitions (the same
//! help texts as `--help`) with the sections clap knows nothing of: EXAMPLES, FILES,
//! ENVIRONMENT, ERROR KINDS (from [`ErrorKind::ALL`]) and EXIT STATUS (from
//! [`exit::STATUSES`]), so no list is kept twice.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Command, CommandFactory};
use clap_mangen::roff::{bold, italic, roman, Roff};
use clap_mangen::Man;
use crawler_core::ErrorKind;

use crate::args::{Cli, ManArgs};
use crate::exit;
use crate::logging::FILTER_VARIABLE;
use crate::terminal::notice;
use crate::Failure;

pub fn run(args: ManArgs) -> Result<ExitCode, Failure> {
    let mut command = Cli::command().disable_help_subcommand(true);
    command.build();
    match args.out {
        None => {
            let page = match &args.command {
                None => command,
                Some(name) => {
                    let found = command.find_subcommand(name).cloned();
                    found.ok_or_else(|| {
                        let names: Vec<&str> =
                            command.get_subcommands().map(|c| c.get_name()).collect();
                        Failure::Usage(format!(
                            "man {name}: no such command (commands: {})",
                            names.join(", ")
                        ))
                    })?
                }
            };
            let mut out = std::io::stdout().lock();
            render(&page, &mut out)?;
        }
        Some(dir) => {
            std::fs::create_dir_all(&dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
            write_pages(&command, &dir)
                .with_context(|| format!("cannot write the man pages into {}", dir.display()))?;
            notice(&format!(
                "wrote crawler.1 and a page per command into {} (read one with: man {}/crawler.1)",
                dir.display(),
                dir.display()
            ));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `crawler.1` and a page per command (`crawler-crawl.1`, ...) in `dir`.
fn write_pages(command: &Command, dir: &Path) -> std::io::Result<()> {
    let pages = std::iter::once(command).chain(command.get_subcommands());
    for page in pages.filter(|page| !page.is_hide_set()) {
        let path = dir.join(Man::new(page.clone()).get_filename());
        let mut file = std::io::BufWriter::new(std::fs::File::create(path)?);
        render(page, &mut file)?;
        file.flush()?;
    }
    Ok(())
}

/// One page: clap's sections (name, synopsis, description, options by heading,
/// commands), then ours.
fn render(command: &Command, out: &mut dyn Write) -> std::io::Result<()> {
    let man = Man::new(command.clone());
    man.render_title(out)?;
    man.render_name_section(out)?;
    man.render_synopsis_section(out)?;
    man.render_description_section(out)?;
    if command.get_arguments().any(|arg| !arg.is_hide_set()) {
        man.render_options_section(out)?;
    }
    if command.has_subcommands() {
        man.render_subcommands_section(out)?;
    }
    let name = command.get_name();
    let mut roff = Roff::new();
    examples(&mut roff, name);
    if matches!(name, "crawler" | "crawl") {
        files(&mut roff);
    }
    environment(&mut roff);
    if matches!(
        name,
        "crawler" | "crawl" | "ls" | "stats" | "export" | "links"
    ) {
        error_kinds(&mut roff);
    }
    exit_status(&mut roff);
    roff.to_writer(out)?;
    man.render_version_section(out)
}

/// `(what it does, the command line)` for each command's page.
fn examples_of(command: &str) -> &'static [(&'static str, &'static str)] {
    match command {
        "crawler" => &[
            ("Try it on a synthetic web on loopback:", "crawler demo"),
            (
                "Crawl a site politely, then see what was stored:",
                "crawler crawl --store site.store https://example.test/\ncrawler stats --store site.store",
            ),
        ],
        "crawl" => &[
            (
                "Crawl one site, two requests a second, at most 1000 pages:",
                "crawler crawl --store site.store --per-host-rate 2 --max-pages 1000 https://example.test/",
            ),
            (
                "Seeds from a file, the whole registrable domain, html bodies only:",
                "crawler crawl --store s --seeds seeds.txt --scope domain --bodies html",
            ),
            (
                "Resume a stopped crawl (its settings are stored with it):",
                "crawler crawl --store site.store",
            ),
            (
                "Fetch again what failed during an outage:",
                "crawler crawl --store site.store --retry-errors connect,timeout",
            ),
            (
                "Take the settings from a file (keys are the long flag names):",
                "crawler crawl --config crawl.toml",
            ),
        ],
        "ls" => &[
            (
                "The broken links of one host, as CSV:",
                "crawler ls --store site.store --host example.test --status 4xx --format csv",
            ),
            (
                "What timed out in the last two hours:",
                "crawler ls --store site.store --error timeout --since 2h",
            ),
            (
                "What a recrawl found new or changed in the last day:",
                "crawler ls --store site.store --changed-since 1d",
            ),
            (
                "A cluster crawl's node stores as one crawl (each URL once, the newest record):",
                "crawler ls --store n1.store --store n2.store",
            ),
        ],
        "get" => &[
            ("A stored page's body:", "crawler get --store site.store https://example.test/a"),
            (
                "What was sent and what came back:",
                "crawler get --store site.store https://example.test/a --request --headers",
            ),
            (
                "Who links here:",
                "crawler get --store site.store https://example.test/a --inlinks",
            ),
            (
                "Every visit of a recrawled page, newest first:",
                "crawler get --store site.store https://example.test/a --history",
            ),
        ],
        "links" => &[(
            "A host's link graph as SVG:",
            "crawler links --store site.store --host example.test --format dot | dot -Tsvg > graph.svg",
        )],
        "stats" => &[
            ("The totals of a crawl:", "crawler stats --store site.store"),
            (
                "One host's, as JSON:",
                "crawler stats --store site.store --host example.test --json",
            ),
        ],
        "export" => &[
            (
                "A WARC archive (the format follows the file name):",
                "crawler export --store site.store -o site.warc.gz",
            ),
            (
                "JSON lines with the bodies, of one host:",
                "crawler export --store site.store -o pages.jsonl --with-body --host example.test",
            ),
            (
                "A recrawl's visits of the last day, unchanged pages as revisit records:",
                "crawler export --store site.store -o today.warc.gz --since 1d",
            ),
            (
                "A Parquet table of the pages (Common Crawl's index columns and ours), for DuckDB:",
                "crawler export --store site.store -o site.parquet",
            ),
            (
                "A WARC and its CDXJ index, for pywb:",
                "crawler export --store site.store -o site.warc.gz --cdxj site.cdxj",
            ),
            (
                "The same in one WACZ, for ReplayWeb.page:",
                "crawler export --store site.store -o site.wacz",
            ),
        ],
        "robots" => &[(
            "How a crawl would judge two URLs, and by which rule:",
            "crawler robots --url https://example.test/robots.txt /private/x /public",
        )],
        "top" => &[
            (
                "The live view of a crawl started with --listen 9184:",
                "crawler top --connect 9184",
            ),
            (
                "Or found through its store:",
                "crawler top --store site.store",
            ),
        ],
        "merge" => &[(
            "Fold a cluster crawl's node stores into one store:",
            "crawler merge --into all.store --store n1.store --store n2.store",
        )],
        "check" => &[(
            "Verify every file of a store; exit 1 naming each problem:",
            "crawler check --store site.store",
        )],
        "repair" => &[(
            "Rebuild what is derived from the records, set aside what cannot be trusted:",
            "crawler repair --store site.store",
        )],
        "demo" => &[("A demo crawl of 3 hosts of 20 pages:", "crawler demo --hosts 3 --pages 20")],
        "completions" => &[(
            "Completions for bash:",
            "crawler completions bash > ~/.local/share/bash-completion/completions/crawler",
        )],
        "man" => &[("Every page into a directory:", "crawler man --out man/")],
        _ => &[],
    }
}

fn examples(roff: &mut Roff, command: &str) {
    let examples = examples_of(command);
    if examples.is_empty() {
        return;
    }
    roff.control("SH", ["EXAMPLES"]);
    for (what, lines) in examples {
        roff.control("PP", []).text([roman(*what)]);
        roff.control("RS", ["4"]).control("nf", []);
        for line in lines.lines() {
            roff.text([bold(line)]);
        }
        roff.control("fi", []).control("RE", []);
    }
}

fn files(roff: &mut Roff) {
    roff.control("SH", ["FILES"]);
    roff.control("TP", [])
        .text([italic("FILE"), roman(" (crawl --config FILE)")]);
    roff.text([roman(
        "A TOML file of crawl settings: each key is a long flag's name (per-host-rate = 2.0, \
         store = \"site.store\", allow = [\"/docs/\"]), seeds = [URL, ...] gives seed URLs. \
         Flags given on the command line win; an error names the file and line.",
    )]);
    roff.control("TP", [])
        .text([italic("DIR"), roman(" (--store DIR)")]);
    roff.text([roman(
        "The store: one directory holding a crawl (pages, bodies, links, the frontier and the \
         settings of its runs). A crawl resumes from it; the other commands read it.",
    )]);
}

fn environment(roff: &mut Roff) {
    roff.control("SH", ["ENVIRONMENT"]);
    roff.control("TP", []).text([bold(FILTER_VARIABLE)]);
    roff.text([roman(
        "Log filter directives that replace -v and -q, e.g. warn,crawler_core=debug \
         (tracing-subscriber's EnvFilter syntax).",
    )]);
    roff.control("TP", [])
        .text([bold("HTTP_PROXY, HTTPS_PROXY, ALL_PROXY, NO_PROXY")]);
    roff.text([roman(
        "Proxies for crawl and robots --url when no --proxy is given (--proxy none ignores \
         them; --no-proxy replaces NO_PROXY), logged at info with their passwords masked; \
         --resolve names bypass them.",
    )]);
}

fn error_kinds(roff: &mut Roff) {
    roff.control("SH", ["ERROR KINDS"]);
    roff.text([roman(
        "What went wrong with a URL, as its record, the summary, stats and ls --error name it:",
    )]);
    for kind in ErrorKind::ALL {
        roff.control("TP", []).text([bold(kind.as_str())]);
        roff.text([roman(kind.meaning())]);
    }
}

fn exit_status(roff: &mut Roff) {
    roff.control("SH", ["EXIT STATUS"]);
    for status in &exit::STATUSES {
        roff.control("TP", []).text([bold(status.code.to_string())]);
        roff.text([roman(status.meaning)]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(name: &str) -> String {
        let mut command = Cli::command().disable_help_subcommand(true);
        command.build();
        let page = match name {
            "crawler" => command,
            name => command.find_subcommand(name).cloned().expect("a command"),
        };
        let mut out = Vec::new();
        render(&page, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn the_crawl_page_has_every_section_a_user_looks_for() {
        let text = page("crawl");
        for section in [
            ".SH EXAMPLES",
            ".SH FILES",
            ".SH ENVIRONMENT",
            ".SH \"ERROR KINDS\"",
            ".SH \"EXIT STATUS\"",
            ".SH SCOPE",
            ".SH POLITENESS",
        ] {
            assert!(text.contains(section), "{section} missing:\n{text}");
        }
        assert!(text.contains("CRAWLER_LOG"));
        for kind in ErrorKind::ALL {
            let name = kind.as_str().replace('-', "\\-");
            assert!(text.contains(&name), "{name}");
        }
        for status in &exit::STATUSES {
            assert!(
                text.contains(&format!("\\fB{}\\fR", status.code)),
                "{}",
                status.code
            );
        }
    }

    #[test]
    fn every_command_has_examples() {
        let command = Cli::command();
        for sub in command.get_subcommands() {
            assert!(
                !examples_of(sub.get_name()).is_empty(),
                "{}",
                sub.get_name()
            );
        }
    }
}
