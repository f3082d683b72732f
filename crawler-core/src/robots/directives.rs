//! Page-level directives: `<meta name="robots">` and the `X-Robots-Tag` header.

use super::agent::ProductToken;

/// What a page asks of crawlers about itself.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PageDirectives {
    /// `noindex` or `none`: do not index the page (it is still stored, flagged).
    pub noindex: bool,
    /// `nofollow` or `none`: do not follow the page's links.
    pub nofollow: bool,
}

impl PageDirectives {
    /// Reads the `<meta name="robots">` content (several tags joined with `,`) and each
    /// `X-Robots-Tag` header line. A header line may start with a crawler's name
    /// (`otherbot: noindex`); its directives then apply only to that crawler.
    pub fn read(meta: Option<&str>, headers: &[String], agent: &ProductToken) -> PageDirectives {
        let mut directives = PageDirectives::default();
        if let Some(meta) = meta {
            directives.apply(meta);
        }
        for line in headers {
            match line.split_once(':') {
                Some((name, rest)) if is_agent_prefix(name) => {
                    if agent.is_named_by(name.trim()) {
                        directives.apply(rest);
                    }
                }
                _ => directives.apply(line),
            }
        }
        directives
    }

    fn apply(&mut self, list: &str) {
        for directive in list.split(',').map(str::trim) {
            let directive = directive.to_ascii_lowercase();
            match directive.as_str() {
                "none" => {
                    self.noindex = true;
                    self.nofollow = true;
                }
                "noindex" => self.noindex = true,
                "nofollow" => self.nofollow = true,
                _ => {}
            }
        }
    }
}

/// Whether the text before a `:` in an `X-Robots-Tag` line names a crawler rather than
/// being a directive that takes a value (`unavailable_after: 2030-01-01`,
/// `max-snippet: 20`).
fn is_agent_prefix(name: &str) -> bool {
    let name = name.trim().to_ascii_lowercase();
    !name.is_empty()
        && !name.contains([',', ' '])
        && !matches!(
            name.as_str(),
            "unavailable_after" | "max-snippet" | "max-image-preview" | "max-video-preview"
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(meta: Option<&str>, headers: &[&str]) -> PageDirectives {
        let headers: Vec<String> = headers.iter().map(|h| h.to_string()).collect();
        PageDirectives::read(meta, &headers, &ProductToken::parse("crawler").unwrap())
    }

    #[test]
    fn meta_and_header_directives_combine() {
        assert_eq!(read(None, &[]), PageDirectives::default());
        assert!(read(Some("noindex, follow"), &[]).noindex);
        assert!(!read(Some("noindex, follow"), &[]).nofollow);
        assert!(read(Some("NoFollow"), &[]).nofollow);
        assert_eq!(
            read(Some("none"), &[]),
            PageDirectives {
                noindex: true,
                nofollow: true
            }
        );
        assert!(read(None, &["noindex, nofollow"]).nofollow);
        assert!(
            read(
                None,
                &["unavailable_after: 25 Jun 2030 15:00:00 PST", "nofollow"]
            )
            .nofollow
        );
    }

    #[test]
    fn header_lines_naming_another_crawler_do_not_apply() {
        assert_eq!(
            read(None, &["otherbot: noindex, nofollow"]),
            PageDirectives::default()
        );
        assert!(read(None, &["Crawler: nofollow"]).nofollow);
        assert!(read(None, &["otherbot: noindex", "nofollow"]).nofollow);
    }
}
