//! What `--render` asks for, as the configuration holds it and as the render pool
//! reads it: when to render ([`RenderMode`]), what a page's images, fonts and media
//! get ([`RenderResources`]), and [`RenderSettings`], the validated whole with the
//! browser found.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Which pages are rendered in a browser after they are fetched.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RenderMode {
    /// None: links are read from the HTML as fetched.
    #[default]
    Off,
    /// Every HTML page reached by a seed, a link, a redirect or a sitemap (not the
    /// embeds a page loads).
    Always,
    /// Those of the hosts where rendering finds more than the pages as fetched have:
    /// each host's first pages are rendered and compared (`auto.rs`).
    Auto,
}

/// What a rendered page's images, fonts and media (audio, video) are answered with.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RenderResources {
    /// An empty response, fetched by no one: they change no link and no script.
    #[default]
    Needed,
    /// Fetched through the engine like scripts and stylesheets.
    All,
}

/// A `--render` or `--render-resources` value that is not one.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{given:?} is not one of {expected}")]
pub struct UnknownRenderValue {
    given: String,
    expected: String,
}

impl RenderMode {
    /// How the flag spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            RenderMode::Off => "off",
            RenderMode::Always => "always",
            RenderMode::Auto => "auto",
        }
    }
}

impl RenderResources {
    /// How the flag spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            RenderResources::Needed => "needed",
            RenderResources::All => "all",
        }
    }
}

impl fmt::Display for RenderMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for RenderResources {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RenderMode {
    type Err = UnknownRenderValue;
    fn from_str(text: &str) -> Result<RenderMode, UnknownRenderValue> {
        named(
            text,
            [RenderMode::Off, RenderMode::Always, RenderMode::Auto],
            RenderMode::as_str,
        )
    }
}

impl FromStr for RenderResources {
    type Err = UnknownRenderValue;
    fn from_str(text: &str) -> Result<RenderResources, UnknownRenderValue> {
        let all = [RenderResources::Needed, RenderResources::All];
        named(text, all, RenderResources::as_str)
    }
}

/// The one of `all` that `name` spells `text`.
fn named<T: Copy, const N: usize>(
    text: &str,
    all: [T; N],
    name: fn(T) -> &'static str,
) -> Result<T, UnknownRenderValue> {
    all.into_iter()
        .find(|value| name(*value) == text)
        .ok_or_else(|| UnknownRenderValue {
            given: text.to_owned(),
            expected: all.map(name).join(", "),
        })
}

/// A crawl's rendering, validated: the browser found, the numbers in range.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RenderSettings {
    /// The Chromium (or Chrome) executable.
    pub chrome: PathBuf,
    /// Tabs rendering at once, each driven by a thread of its own.
    pub tabs: usize,
    /// A page is settled when no request of it was pending for this long.
    pub idle: Duration,
    /// A page not settled by then is taken as it is (`render-timeout`).
    pub timeout: Duration,
    /// What images, fonts and media get.
    pub resources: RenderResources,
    /// Only where rendering finds more (`--render auto`), not every page.
    pub auto: bool,
}

/// What a rendered DOM's record is keyed by: the page's URL and this fragment (no
/// fetched URL has one: canonical URLs drop it).
pub const RENDERED_FRAGMENT: &str = "#rendered";

/// Names a browser executable is found by on `PATH`, in this order.
pub const BROWSER_NAMES: [&str; 5] = [
    "chromium",
    "chromium-browser",
    "google-chrome",
    "google-chrome-stable",
    "chrome",
];

/// The browser to use: `given` if it is a file, else the first of
/// [`BROWSER_NAMES`] on `PATH`. The error says what to install.
pub fn find_browser(given: Option<&Path>) -> Result<PathBuf, String> {
    if let Some(path) = given {
        if path.is_file() {
            return Ok(path.to_owned());
        }
        return Err(format!("{} is not a file", path.display()));
    }
    BROWSER_NAMES
        .into_iter()
        .find_map(|name| find_program(name).ok())
        .ok_or_else(|| {
            format!(
                "no browser found: install Chromium (Debian, Ubuntu: apt-get install chromium) or give one with --chrome PATH (looked for {} on PATH)",
                BROWSER_NAMES.join(", ")
            )
        })
}

/// The file `name` on `PATH`.
pub fn find_program(name: &str) -> Result<PathBuf, String> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
        .ok_or_else(|| format!("no {name} on PATH"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_read_back_from_their_names_and_others_are_refused_naming_the_choices() {
        for mode in [RenderMode::Off, RenderMode::Always, RenderMode::Auto] {
            assert_eq!(mode.as_str().parse::<RenderMode>(), Ok(mode));
        }
        for kind in [RenderResources::Needed, RenderResources::All] {
            assert_eq!(kind.to_string().parse::<RenderResources>(), Ok(kind));
        }
        let error = "sometimes".parse::<RenderMode>().unwrap_err();
        assert_eq!(
            error.to_string(),
            "\"sometimes\" is not one of off, always, auto"
        );
    }

    #[test]
    fn a_browser_given_that_is_no_file_is_named() {
        let error = find_browser(Some(Path::new("/nonexistent/chrome"))).unwrap_err();
        assert!(error.contains("/nonexistent/chrome"), "{error}");
    }
}
