//! `crawler links`: the link graph of the stored pages the filters select.

use std::io::{self, Write};
use std::process::ExitCode;

use crawler_storage::StoreUnion;

use super::reading::{open_all, page_filter};
use crate::args::{GraphFormat, LinksArgs};
use crate::escape::{escape, escaped};
use crate::Failure;

pub fn run(args: LinksArgs) -> Result<ExitCode, Failure> {
    let filter = page_filter(&args.filter)?;
    let stores = open_all(&args.store)?;
    let crawl = StoreUnion::new(stores.iter().collect());
    let mut out = io::BufWriter::new(io::stdout().lock());
    if args.format == GraphFormat::Dot {
        writeln!(out, "digraph crawl {{")?;
    }
    for link in crawl.links(&filter) {
        let link = link?;
        match args.format {
            GraphFormat::Edges => writeln!(out, "{}\t{}", escaped(&link.from), escaped(&link.to))?,
            GraphFormat::Dot => writeln!(out, "  {} -> {};", dot_id(&link.from), dot_id(&link.to))?,
        }
    }
    if args.format == GraphFormat::Dot {
        writeln!(out, "}}")?;
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// A DOT double-quoted ID: backslashes and quotes escaped, then control characters.
fn dot_id(text: &str) -> String {
    let quoted = text.replace('\\', "\\\\").replace('"', "\\\"");
    format!("\"{}\"", escape(&quoted))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_ids_escape_quotes_and_backslashes() {
        assert_eq!(dot_id("http://a.test/"), "\"http://a.test/\"");
        assert_eq!(dot_id("a\"b\\c"), "\"a\\\"b\\\\c\"");
    }
}
