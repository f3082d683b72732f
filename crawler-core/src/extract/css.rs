//! The URLs a stylesheet embeds: `url(...)` (fonts, background images, cursors) and
//! `@import`.
//!
//! Read with `cssparser`'s tokenizer (the one `scraper`'s selectors already use), so
//! comments, escapes, quoted and unquoted `url()` and strings are read as a browser
//! reads them; a scan for the text `url(` would take a comment's or a string's for one.
//! No rule is interpreted: a URL in a rule the browser would drop is still found.
//! Linear in the stylesheet: each token is read once, and blocks nested deeper than
//! [`MAX_NESTING`] are skipped unread rather than recursed into.

use cssparser::{ParseError, Parser, Token};

/// Blocks (`{}`, `()`, `[]`, functions) read inside one another; deeper ones are
/// skipped, so that a hostile stylesheet cannot exhaust the stack.
const MAX_NESTING: u32 = 32;

/// A URL written in a stylesheet, in source order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum CssRef<'a> {
    /// `url(...)`, quoted or not.
    Url(&'a str),
    /// `@import "..."` (an `@import url(...)` is a [`CssRef::Import`] too).
    Import(&'a str),
}

/// Calls `found` with every URL `css` embeds, in source order.
pub(super) fn css_refs(css: &str, mut found: impl FnMut(CssRef<'_>)) {
    let mut parser = Parser::new(css);
    walk(&mut parser, 0, &mut found);
}

/// Whether `text` may hold a URL worth the tokenizer's time (a quick test for the
/// `style` attributes of every element).
pub(super) fn may_embed(text: &str) -> bool {
    text.as_bytes()
        .windows(3)
        .any(|w| w.eq_ignore_ascii_case(b"url"))
}

fn walk(parser: &mut Parser<'_>, depth: u32, found: &mut dyn FnMut(CssRef<'_>)) {
    // An `@import` whose URL has not come yet.
    let mut importing = false;
    loop {
        let token = match parser.next() {
            Ok(token) => token.clone(),
            Err(_) => return,
        };
        let was_importing = std::mem::take(&mut importing);
        match token {
            Token::UnquotedUrl(url) => found(if was_importing {
                CssRef::Import(&url)
            } else {
                CssRef::Url(&url)
            }),
            Token::QuotedString(url) if was_importing => found(CssRef::Import(&url)),
            Token::AtKeyword(name) if name.eq_ignore_ascii_case("import") => importing = true,
            Token::Function(name) if name.eq_ignore_ascii_case("url") => {
                // `url("...")`: the string is the URL.
                let url = parser.parse_nested_block(|inner| {
                    inner
                        .expect_string()
                        .map(|url| url.as_ref().to_owned())
                        .map_err(Into::into)
                });
                if let Ok::<_, ParseError<()>>(url) = url {
                    found(if was_importing {
                        CssRef::Import(&url)
                    } else {
                        CssRef::Url(&url)
                    });
                }
            }
            Token::Function(_)
            | Token::ParenthesisBlock
            | Token::SquareBracketBlock
            | Token::CurlyBracketBlock
                if depth < MAX_NESTING =>
            {
                let _ = parser.parse_nested_block(|inner| {
                    walk(inner, depth + 1, found);
                    Ok::<_, ParseError<()>>(())
                });
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refs(css: &str) -> Vec<String> {
        let mut out = Vec::new();
        css_refs(css, |r| {
            out.push(match r {
                CssRef::Url(url) => format!("url {url}"),
                CssRef::Import(url) => format!("import {url}"),
            })
        });
        out
    }

    #[test]
    fn finds_imports_and_urls_in_source_order() {
        let css = r#"@import "base.css"; @import url(print.css) print;
            @IMPORT url('x.css');
            @font-face { font-family: F; src: url("f.woff2") format("woff2"), url(f.woff); }
            body { background: #fff URL( 'bg.png' ) no-repeat; }
            @media screen { .a { cursor: url(c.cur), auto } }"#;
        assert_eq!(
            refs(css),
            [
                "import base.css",
                "import print.css",
                "import x.css",
                "url f.woff2",
                "url f.woff",
                "url bg.png",
                "url c.cur"
            ]
        );
    }

    #[test]
    fn comments_strings_and_escapes_are_read_as_a_browser_reads_them() {
        let css = r#"/* url(no.png) */ .a { content: "url(no2.png)"; background: url(a\)b.png) }
            .b { background: url( "sp ace.png" ) } .c { background: u\72l(esc.png) }"#;
        assert_eq!(refs(css), ["url a)b.png", "url sp ace.png", "url esc.png"]);
    }

    #[test]
    fn a_string_is_an_import_only_right_after_the_keyword() {
        assert_eq!(
            refs(r#".a { content: "x.css" } @import "y.css";"#),
            ["import y.css"]
        );
        assert!(refs("@import;").is_empty());
    }

    #[test]
    fn hostile_nesting_and_garbage_end_without_panic() {
        let deep = format!(
            "{}url(deep.png){}",
            "(".repeat(100_000),
            ")".repeat(100_000)
        );
        assert!(refs(&deep).is_empty());
        let shallow = format!("{}url(ok.png){}", "[".repeat(10), "]".repeat(10));
        assert_eq!(refs(&shallow), ["url ok.png"]);
        for garbage in ["url(", "@import", "url(\"a", "}}}{{{", "\u{0}url(\u{0})"] {
            refs(garbage);
        }
    }

    #[test]
    fn may_embed_is_a_case_insensitive_prefilter() {
        assert!(may_embed("background: URL(x)"));
        assert!(!may_embed("color: red"));
    }
}
