//! JavaScript rendering (`--render`): a page the engine fetched is loaded into a tab
//! of a headless Chromium, and every request the page makes there is paused and
//! answered by the engine, so a rendered crawl is exactly as polite as a plain one.
//!
//! # Why it is built this way
//! - **The browser never opens a connection.** The DevTools protocol's Fetch domain
//!   pauses each request before it leaves; the page's own document is answered with
//!   what the engine fetched, anything else by a [`Resolver`] (the worker side:
//!   from the store, or queued in the frontier as an embed of the page with hop type
//!   `render`, fetched there under robots.txt, the scope and the host's politeness,
//!   recorded, then answered). What escapes interception meets a closed proxy
//!   (`browser.rs`).
//! - **A synchronous client.** The engine is threads and blocking calls (no async
//!   runtime in the workers); `headless_chrome` drives a browser the same way: a call
//!   returns its answer, and events arrive on a thread of its own. An async client
//!   (`chromiumoxide`) would need a runtime beside the engine's threads for nothing.
//!   It is used with its default features only: no browser download (the system's
//!   Chromium, `--chrome PATH`), and the protocol's types built from the JSON it ships.
//! - **Settling** is the page's own network: rendered when no request was pending for
//!   `--render-idle`, or at `--render-timeout` (`render-timeout`, what was rendered
//!   kept), since "load" fires before a script's `fetch` and some pages never stop.
//!
//! `settings.rs` (what the configuration holds) is built without the `render`
//! feature too, so a configuration that asks for rendering is refused by name;
//! `auto.rs` is `--render auto`'s rule (which hosts are rendered), plain data.

mod auto;
mod settings;

#[cfg(feature = "render")]
mod browser;
#[cfg(feature = "render")]
mod request;
#[cfg(feature = "render")]
mod tab;

pub use auto::{
    visible_text, AutoRender, Comparison, HostRendering, Render, MIN_MORE_TEXT, MIN_NEW_LINKS,
    TRIAL_PAGES,
};
#[cfg(feature = "render")]
pub use browser::{BrowserError, Browsers};
#[cfg(feature = "render")]
pub use request::{PausedRequest, Reply, RequestKind, Resolver};
pub use settings::{
    find_browser, find_program, RenderMode, RenderResources, RenderSettings, UnknownRenderValue,
    BROWSER_NAMES, RENDERED_FRAGMENT,
};
#[cfg(feature = "render")]
pub use tab::{RenderTab, Rendered, TabError};
