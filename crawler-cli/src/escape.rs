//! Text from outside (a page, a server, a seed file, the command line) as a terminal
//! may be shown it.
//!
//! A title, a URL, a header value or a message echoing input can hold control
//! characters, and a terminal obeys them: ESC and the C1 codes start sequences that
//! retitle the window, clear the screen or rewrite what was printed; a carriage
//! return or a bidi override makes a line read as something else. Every printer of
//! text for people (`ls`, `get --headers`/`--info`/`--links`, `links`, `stats`, the
//! crawl's summary, notices, errors and log lines) writes such text through
//! [`Escaped`]. Machine formats escape by their own rules (JSON) or are data (`get`'s
//! body, WARC), and are not passed through here.

use std::fmt::{self, Write};

/// `text`, with every control character written as an escape (`\x1b`, `\u{9b}`):
/// C0 (tab and line feed included: inside a field they are not structure), DEL, C1,
/// and the bidi formatting characters.
pub struct Escaped<'a> {
    text: &'a str,
    keep_newlines: bool,
}

/// One field of a line: nothing in it may end the line or move the cursor.
pub fn escaped(text: &str) -> Escaped<'_> {
    Escaped {
        text,
        keep_newlines: false,
    }
}

/// A message of several lines (an error, a notice): its line feeds stay, every
/// other control character is escaped.
pub fn escaped_lines(text: &str) -> Escaped<'_> {
    Escaped {
        text,
        keep_newlines: true,
    }
}

/// Whether a terminal could act on `c` instead of showing it.
pub fn is_unsafe(c: char) -> bool {
    // Cc is C0, DEL and C1; the others are Unicode's explicit bidi controls.
    c.is_control()
        || matches!(c, '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

impl fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rest = self.text;
        while let Some(at) = rest.find(|c: char| is_unsafe(c) && !(self.keep_newlines && c == '\n'))
        {
            f.write_str(&rest[..at])?;
            let c = rest[at..].chars().next().unwrap_or_default();
            match u32::from(c) {
                code @ 0..=0x7f => write!(f, "\\x{code:02x}")?,
                code => write!(f, "\\u{{{code:x}}}")?,
            }
            rest = &rest[at + c.len_utf8()..];
        }
        f.write_str(rest)
    }
}

/// [`escaped`], as a `String`.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let _ = write!(out, "{}", escaped(text));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_sequences_are_shown_not_obeyed() {
        // A window title change, a screen clear, and the C1 form of CSI.
        assert_eq!(
            escape("a\x1b]0;owned\x07b\x1b[2Jc\u{9b}31m"),
            "a\\x1b]0;owned\\x07b\\x1b[2Jc\\u{9b}31m"
        );
        assert_eq!(
            escape("tab\there\r\nDEL\x7f"),
            "tab\\x09here\\x0d\\x0aDEL\\x7f"
        );
        assert_eq!(escape("abc\u{202e}fed"), "abc\\u{202e}fed");
    }

    #[test]
    fn plain_text_and_non_ascii_pass_unchanged() {
        for text in [
            "",
            "http://a.test/x?y=1",
            "Café “quoted” – naïve",
            "日本語",
            "\\x1b",
        ] {
            assert_eq!(escape(text), text);
        }
    }

    #[test]
    fn messages_keep_their_lines() {
        assert_eq!(
            escaped_lines("one\ntwo\r\x1b[Athree").to_string(),
            "one\ntwo\\x0d\\x1b[Athree"
        );
    }
}
