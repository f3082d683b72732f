//! `--render auto`: which hosts' pages are rendered. Rendering costs a browser tab
//! for a second or more a page, and most sites need none, so each host is tried: its
//! first [`TRIAL_PAGES`] HTML pages are rendered and each rendering compared with
//! the page as fetched. The host keeps being rendered from the first page where the
//! rendering found more; after that many pages where it found nothing more, its
//! pages are read as fetched only.
//!
//! **The rule**, per page: rendering found more when its DOM has a link the scope
//! admits that the page as fetched had not ([`MIN_NEW_LINKS`]), or visible text half
//! as long again as the page's (at least [`MIN_MORE_TEXT`] characters more: a page of
//! ten characters that gains six is not a single-page app). A page fetched while its
//! host's trial pages are still rendering is not rendered, nor compared: on a host
//! that turns out to need rendering, the pages reached after the first are reached
//! through the rendered links, so they come after the decision.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, PoisonError};

use serde::Serialize;

/// Pages of a host rendered to decide whether it is.
pub const TRIAL_PAGES: u32 = 3;
/// New in-scope links on one page that make a host rendered.
pub const MIN_NEW_LINKS: usize = 1;
/// Visible characters more than the page as fetched had, at least, for its text to
/// count as more (beside half as much again).
pub const MIN_MORE_TEXT: usize = 100;
/// Hosts the summary names (rendered ones first): a broad crawl tries every host.
pub const NAMED_HOSTS: usize = 100;

/// A page as fetched and as rendered, in what the rule compares.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Comparison {
    /// Links of the rendered DOM in the scope that the fetched page did not have.
    pub new_links: usize,
    /// Visible characters of the page as fetched.
    pub text_fetched: usize,
    /// Visible characters of the rendered DOM.
    pub text_rendered: usize,
}

impl Comparison {
    /// Why rendering found more on this page, when it did.
    pub fn found_more(&self) -> Option<String> {
        if self.new_links >= MIN_NEW_LINKS {
            return Some(format!("{} links found only by rendering", self.new_links));
        }
        let more = self.text_rendered.saturating_sub(self.text_fetched);
        if more >= MIN_MORE_TEXT && 2 * self.text_rendered >= 3 * self.text_fetched {
            return Some(format!(
                "{} characters of text where the page as fetched had {}",
                self.text_rendered, self.text_fetched
            ));
        }
        None
    }
}

/// What was decided for one host, as the crawl's summary says it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct HostRendering {
    /// Its pages are rendered.
    pub rendered: bool,
    /// Why.
    pub why: String,
}

#[derive(Debug)]
enum Trial {
    /// Pages handed to rendering to compare, and compared.
    Trying {
        handed: u32,
        compared: u32,
    },
    Decided(HostRendering),
}

/// Whether a page is rendered, and compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Render {
    /// Not rendered.
    No,
    /// Rendered, its host decided.
    Yes,
    /// Rendered and compared with the page as fetched: one of its host's trial.
    Compare,
}

/// The hosts' trials and decisions, shared by the workers (which ask) and the render
/// threads (which compare).
#[derive(Debug, Default)]
pub struct AutoRender {
    hosts: Mutex<HashMap<String, Trial>>,
}

impl AutoRender {
    /// Whether a page of `host` just fetched is rendered.
    pub fn page(&self, host: &str) -> Render {
        let mut hosts = self.hosts.lock().unwrap_or_else(PoisonError::into_inner);
        let trial = (hosts.entry(host.to_owned())).or_insert(Trial::Trying {
            handed: 0,
            compared: 0,
        });
        match trial {
            Trial::Trying { handed, .. } if *handed < TRIAL_PAGES => {
                *handed += 1;
                Render::Compare
            }
            Trial::Trying { .. } => Render::No,
            Trial::Decided(decided) if decided.rendered => Render::Yes,
            Trial::Decided(_) => Render::No,
        }
    }

    /// A trial page of `host` (at `path`) was rendered (`None`: it could not be).
    pub fn compared(&self, host: &str, path: &str, comparison: Option<Comparison>) {
        let mut hosts = self.hosts.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(Trial::Trying { compared, .. }) = hosts.get_mut(host) else {
            return;
        };
        *compared += 1;
        let compared = *compared;
        let decided = match comparison.and_then(|c| c.found_more()) {
            Some(why) => HostRendering {
                rendered: true,
                why: format!("{path}: {why}"),
            },
            None if compared >= TRIAL_PAGES => HostRendering {
                rendered: false,
                why: format!("rendering found nothing more on its first {compared} pages"),
            },
            None => return,
        };
        hosts.insert(host.to_owned(), Trial::Decided(decided));
    }

    /// The first [`NAMED_HOSTS`] hosts tried, rendered ones first, with what was
    /// decided (a host with fewer pages than a trial is not rendered further); and how
    /// many hosts were tried, and rendered.
    pub fn decisions(&self) -> (BTreeMap<String, HostRendering>, u64, u64) {
        let hosts = self.hosts.lock().unwrap_or_else(PoisonError::into_inner);
        let rendered = |trial: &Trial| matches!(trial, Trial::Decided(d) if d.rendered);
        let mut named: Vec<(&String, &Trial)> = hosts.iter().collect();
        named.sort_by_key(|(host, trial)| (!rendered(trial), *host));
        named.truncate(NAMED_HOSTS);
        let rendered_hosts = hosts.values().filter(|trial| rendered(trial)).count();
        let named = (named.into_iter())
            .map(|(host, trial)| {
                let decided = match trial {
                    Trial::Decided(decided) => decided.clone(),
                    Trial::Trying { compared, .. } => HostRendering {
                        rendered: false,
                        why: format!(
                            "rendering found nothing more on the {compared} of its pages rendered"
                        ),
                    },
                };
                (host.clone(), decided)
            })
            .collect();
        (named, hosts.len() as u64, rendered_hosts as u64)
    }
}

/// The visible characters of an HTML page: its text outside tags, scripts, styles and
/// comments, whitespace not counted. A measure to compare two versions of a page by,
/// not a text extraction.
pub fn visible_text(html: &str) -> usize {
    let lower = html.to_ascii_lowercase();
    let mut count = 0;
    let mut at = 0;
    while let Some(offset) = lower[at..].find('<') {
        count += lower[at..at + offset]
            .chars()
            .filter(|c| !c.is_whitespace())
            .count();
        let tag = at + offset;
        let skip_to = ["<script", "<style", "<!--"]
            .iter()
            .zip(["</script", "</style", "-->"])
            .find(|(open, _)| lower[tag..].starts_with(**open))
            .map(|(_, close)| close);
        at = match skip_to {
            Some(close) => lower[tag..]
                .find(close)
                .map_or(lower.len(), |end| tag + end + close.len()),
            None => tag,
        };
        at = lower[at..]
            .find('>')
            .map_or(lower.len(), |end| at + end + 1);
    }
    count + lower[at..].chars().filter(|c| !c.is_whitespace()).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn visible_text_leaves_out_tags_scripts_styles_and_comments() {
        let html = "<html><head><title>Hi</title><style>p{color:red}</style>\
                    <script>var x = '<p>not text</p>';</script></head>\
                    <body><!-- no --><p>Hello  world</p></body></html>";
        assert_eq!(visible_text(html), "HiHelloworld".len());
        assert_eq!(visible_text("plain"), 5);
        assert_eq!(visible_text("<p>cut <b"), 3);
    }

    #[test]
    fn a_host_is_rendered_from_the_first_page_that_shows_more_and_plain_after_its_trial() {
        let auto = AutoRender::default();
        let same = Comparison {
            new_links: 0,
            text_fetched: 500,
            text_rendered: 520,
        };
        for _ in 0..TRIAL_PAGES {
            assert_eq!(auto.page("plain"), Render::Compare);
        }
        assert_eq!(auto.page("plain"), Render::No, "the trial is full");
        for _ in 0..TRIAL_PAGES {
            auto.compared("plain", "/", Some(same));
        }
        assert_eq!(auto.page("plain"), Render::No);

        assert_eq!(auto.page("app"), Render::Compare);
        let app = Comparison {
            new_links: 3,
            ..Comparison::default()
        };
        auto.compared("app", "/", Some(app));
        assert_eq!(auto.page("app"), Render::Yes);
        let (decisions, tried, rendered) = auto.decisions();
        assert_eq!((tried, rendered), (2, 1));
        assert!(decisions["app"].rendered);
        assert_eq!(decisions["app"].why, "/: 3 links found only by rendering");
        assert!(!decisions["plain"].rendered);
    }

    #[test]
    fn text_counts_as_more_when_half_as_long_again_and_a_hundred_characters_more() {
        let text = |fetched, rendered| Comparison {
            new_links: 0,
            text_fetched: fetched,
            text_rendered: rendered,
        };
        assert!(text(0, 100).found_more().is_some());
        assert!(text(10, 60).found_more().is_none(), "too few characters");
        assert!(
            text(1000, 1400).found_more().is_none(),
            "not half as much again"
        );
        assert!(text(1000, 1500).found_more().is_some());
    }
}
