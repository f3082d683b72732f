//! Seed lists: one URL per line, `#` comments and blank lines skipped.

use std::io::BufRead;

use crate::url::{CanonicalUrl, UrlError};

/// A seed line that is not a crawlable URL, located by source and line number.
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error("{source_name}:{line}: {error}")]
    BadLine {
        source_name: String,
        line: usize,
        error: UrlError,
    },
    #[error("{source_name}: {error}")]
    Read {
        source_name: String,
        error: std::io::Error,
    },
}

/// Reads a seed list. `source_name` (a file name, or `-` for standard input) names
/// the input in errors. The first bad line is an error; nothing is half-read.
pub fn read_seeds(reader: impl BufRead, source_name: &str) -> Result<Vec<CanonicalUrl>, SeedError> {
    let mut seeds = Vec::new();
    for (index, line) in reader.lines().enumerate() {
        let line = line.map_err(|error| SeedError::Read {
            source_name: source_name.to_owned(),
            error,
        })?;
        let text = line.trim_start_matches('\u{feff}').trim();
        if text.is_empty() || text.starts_with('#') {
            continue;
        }
        let seed = CanonicalUrl::parse(text).map_err(|error| SeedError::BadLine {
            source_name: source_name.to_owned(),
            line: index + 1,
            error,
        })?;
        seeds.push(seed);
    }
    Ok(seeds)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skips_comments_blank_lines_bom_and_crlf() {
        let input = "\u{feff}http://a.test/\r\n# comment\r\n\r\n  HTTP://B.test  \n";
        let seeds = read_seeds(input.as_bytes(), "seeds.txt").unwrap();
        let seeds: Vec<&str> = seeds.iter().map(CanonicalUrl::as_str).collect();
        assert_eq!(seeds, ["http://a.test/", "http://b.test/"]);
    }

    #[test]
    fn a_bad_line_names_file_and_line() {
        let input = "http://a.test/\nftp://b.test/\n";
        let err = read_seeds(input.as_bytes(), "seeds.txt").unwrap_err();
        assert!(err.to_string().starts_with("seeds.txt:2: "), "{err}");
    }
}
