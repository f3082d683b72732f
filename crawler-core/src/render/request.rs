//! A request a rendering page makes, and the engine's answer to it: the seam between
//! the tab driver (`tab.rs`), which knows the browser, and the worker side, which
//! knows the frontier and the store ([`Resolver`]).

use std::sync::atomic::AtomicBool;

/// What a page asked for, as the browser paused it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PausedRequest {
    /// The URL, as the browser wrote it.
    pub url: String,
    /// `GET`, `POST`, ...
    pub method: String,
    /// What it is for.
    pub kind: RequestKind,
}

/// What a paused request is for, by the browser's resource type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RequestKind {
    /// An image, a font, audio or video: none changes a link or a script.
    Media,
    /// A frame's document (an `<iframe>`), a script, a stylesheet, a `fetch`, ...
    Other,
}

/// The engine's answer to a paused request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    /// This response.
    Fulfil {
        /// The status.
        status: u16,
        /// Its headers.
        headers: Vec<(String, String)>,
        /// Its body.
        body: Vec<u8>,
    },
    /// No response: the request fails in the page, as a blocked one does.
    Fail,
}

impl Reply {
    /// An empty 200 (an image nobody fetched).
    pub fn empty() -> Reply {
        Reply::Fulfil {
            status: 200,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }
}

/// Answers the requests of one page as it renders. Called on the browser's event
/// thread, one request at a time; it may block (for a fetch the frontier schedules)
/// but should give up soon once `closing` is set.
pub trait Resolver: Send + Sync {
    /// The page itself, as the engine fetched it.
    fn document(&self) -> Reply;
    /// Anything else the page asks for.
    fn resolve(&self, request: &PausedRequest, closing: &AtomicBool) -> Reply;
}
