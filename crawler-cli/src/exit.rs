//! The exit codes of `crawler`, and what each means: the one list `--help`, the man
//! page and the code that exits all read.

/// The command did what it was asked.
pub const DONE: u8 = 0;
/// A failure other than bad usage: the store could not be opened or written, say.
pub const ERROR: u8 = 1;
/// Bad usage: an unknown flag, a bad value, a bad seed line or config file.
pub const USAGE: u8 = 2;
/// A crawl in which no server answered at all (wget uses 4 for network failures too).
pub const NOTHING_REACHED: u8 = 4;
/// A crawl stopped by a signal exits with this plus the signal's number, as shells do.
pub const SIGNALLED: u8 = 128;

/// One exit code and what it means.
pub struct Status {
    pub code: u8,
    pub meaning: &'static str,
}

/// Every exit code, in order.
pub const STATUSES: [Status; 6] = [
    Status {
        code: DONE,
        meaning: "done (also: resuming a crawl that was already complete)",
    },
    Status {
        code: ERROR,
        meaning: "error: the store could not be opened or written, a crawl failed; `check` found problems",
    },
    Status {
        code: USAGE,
        meaning: "bad usage: unknown flag, bad value, bad seed line, bad config file",
    },
    Status {
        code: NOTHING_REACHED,
        meaning: "crawl: no server answered at all (refused connections, DNS, TLS, \
                  timeouts); what failed is stored, as with any error",
    },
    Status {
        code: SIGNALLED + 2,
        meaning: "crawl stopped by SIGINT (Ctrl-C): in-flight fetches finished and were \
                  stored; `crawler crawl --store DIR` resumes",
    },
    Status {
        code: SIGNALLED + 15,
        meaning: "crawl stopped by SIGTERM, likewise",
    },
];

/// The exit code of a crawl stopped by `signal`.
pub fn signalled(signal: i32) -> u8 {
    u8::try_from(i32::from(SIGNALLED) + signal).unwrap_or(ERROR)
}

/// `--help`'s closing text: the exit codes, then where output goes.
pub fn help_text() -> String {
    let mut text = String::from("Exit codes:\n");
    for status in &STATUSES {
        let mut lines = wrap(status.meaning, 70).into_iter();
        text.push_str(&format!(
            "  {:<4} {}\n",
            status.code,
            lines.next().unwrap_or_default()
        ));
        for line in lines {
            text.push_str(&format!("       {line}\n"));
        }
    }
    text.push_str(
        "\nLogs go to stderr (-v, -vv, -vvv, -q, --log-format json); data and summaries to stdout.",
    );
    text
}

/// `text` in lines of at most `width` characters, broken between words.
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for word in text.split_whitespace() {
        match lines.last_mut() {
            Some(line) if line.len() + 1 + word.len() <= width => {
                line.push(' ');
                line.push_str(word);
            }
            _ => lines.push(word.to_owned()),
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_is_listed_once_with_its_meaning() {
        let text = help_text();
        for status in &STATUSES {
            let line = format!("\n  {:<4} ", status.code);
            assert_eq!(text.matches(&line).count(), 1, "{text}");
        }
        assert!(text.contains("  130  crawl stopped by SIGINT"), "{text}");
        assert!(text.lines().all(|line| line.len() <= 90), "{text}");
    }

    #[test]
    fn words_wrap_at_the_width() {
        assert_eq!(wrap("a bb ccc dd", 6), ["a bb", "ccc dd"]);
        assert_eq!(wrap("", 6), Vec::<String>::new());
    }
}
