//! A page's rendering (`crawl --render`) as the store keeps it: a part of the page,
//! beside the page as fetched, not a record of its own, so a rendered page is one
//! page to every count, listing and export. Its DOM is a blob like the fetched body
//! ([`crate::Store::rendered_body`]); this is what else the rendering found.

use serde::{Deserialize, Serialize};

/// How a rendering ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Settled {
    /// The page's network was idle long enough: the DOM is the settled page.
    Idle,
    /// Not settled by the render timeout: the DOM as it was then.
    RenderTimeout,
    /// Not rendered (the browser crashed, the tab hung): no DOM.
    RenderFailed,
}

impl Settled {
    /// The name the engine gives it (`idle`, or the error kind).
    pub fn as_str(self) -> &'static str {
        match self {
            Settled::Idle => "idle",
            Settled::RenderTimeout => "render-timeout",
            Settled::RenderFailed => "render-failed",
        }
    }

    /// The error kind it is, when it is one.
    pub fn error(self) -> Option<&'static str> {
        (self != Settled::Idle).then(|| self.as_str())
    }
}

/// What a page's rendering found, stored with the page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rendering {
    /// How it ended.
    pub settled: Settled,
    /// What went wrong, when it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Milliseconds since the Unix epoch when it was stored.
    pub rendered_at_ms: u64,
    /// The rendered DOM's `<title>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The rendered DOM's length, in bytes.
    pub bytes: u64,
    /// The links of the rendered DOM and the URLs the page moved to (canonical):
    /// the rendering's outlinks, inlinks of their targets like the page's own.
    pub links: Vec<String>,
}
