//! The one browser process of a crawl's render pool: launched so that it cannot reach
//! the network by itself and dies with the crawler, shared by the tabs, and launched
//! again when it crashed.
//!
//! - **No connection of its own.** Every request a page makes is paused and answered
//!   by the engine (`tab.rs`); in case one is not (a service worker's, the browser's
//!   own background traffic), the browser is told its proxy is a loopback port
//!   nothing listens on (`127.0.0.1:1`, loopback included: `<-loopback>`) and that no
//!   name resolves, so such a request fails on the machine.
//! - **Dies with the crawler.** The crate kills the browser when the last handle is
//!   dropped; a crawler killed with `SIGKILL` drops nothing, so the browser is started
//!   through `setpriv --pdeathsig KILL` (util-linux), which has the kernel kill it when
//!   the thread that started it ends. Its own children (renderers, zygotes) leave with
//!   it: they watch their parent's pipe.

use std::ffi::OsStr;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use headless_chrome::{Browser, LaunchOptions, Tab};

use super::settings::RenderSettings;

/// A browser that could not be started, or a tab it could not open.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BrowserError(pub String);

/// The shortest time a call to the browser may take before it is given up (a hung
/// tab); it is also how long the crate keeps a connection that sees no message, so an
/// idle render thread pings the browser more often ([`Browsers::keep_alive_every`]).
const MIN_CALL_TIMEOUT: Duration = Duration::from_secs(60);

/// Where unintercepted requests are sent: a privileged loopback port no one serves.
const CLOSED_PROXY: &str = "--proxy-server=http://127.0.0.1:1";

/// The crawl's browser, started on first use and again after a crash.
pub struct Browsers {
    chrome: PathBuf,
    /// How long a call may take (see [`MIN_CALL_TIMEOUT`]).
    call_timeout: Duration,
    /// The running browser and its generation (how many were started before it).
    current: Mutex<Option<(u64, Arc<Browser>)>>,
    started: Mutex<u64>,
}

impl Browsers {
    /// The pool's browser, started now so that a browser that cannot start fails the
    /// crawl before anything is fetched.
    pub fn start(settings: &RenderSettings) -> Result<Browsers, BrowserError> {
        let browsers = Browsers {
            chrome: settings.chrome.clone(),
            call_timeout: (settings.timeout + Duration::from_secs(30)).max(MIN_CALL_TIMEOUT),
            current: Mutex::new(None),
            started: Mutex::new(0),
        };
        browsers.browser()?;
        Ok(browsers)
    }

    /// A new tab of the running browser (started if it is not), with the generation
    /// of the browser it belongs to.
    pub fn tab(&self) -> Result<(u64, Arc<Tab>), BrowserError> {
        let (generation, browser) = self.browser()?;
        match browser.new_tab() {
            Ok(tab) => Ok((generation, tab)),
            Err(error) => {
                self.failed(generation);
                Err(BrowserError(format!("cannot open a tab: {error}")))
            }
        }
    }

    /// The browser of `generation` failed (crashed, or stopped answering): the next
    /// tab starts a new one.
    pub fn failed(&self, generation: u64) {
        let mut current = self.current.lock().unwrap_or_else(PoisonError::into_inner);
        if current.as_ref().is_some_and(|(g, _)| *g == generation) {
            tracing::warn!(generation, "the browser failed: starting another");
            *current = None;
        }
    }

    /// Whether the browser of `generation` still answers.
    pub fn answers(&self, generation: u64) -> bool {
        let browser = {
            let current = self.current.lock().unwrap_or_else(PoisonError::into_inner);
            match current.as_ref() {
                Some((g, browser)) if *g == generation => Arc::clone(browser),
                _ => return false,
            }
        };
        browser.get_version().is_ok()
    }

    /// How often an idle render thread asks the browser something, so that the
    /// connection, which is given up after a call timeout without a message, stays.
    pub fn keep_alive_every(&self) -> Duration {
        self.call_timeout / 3
    }

    /// Asks the running browser for its version (see [`Browsers::keep_alive_every`]);
    /// one that does not answer is started again on next use.
    pub fn keep_alive(&self) {
        let running = self
            .current
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        if let Some((generation, browser)) = running {
            if browser.get_version().is_err() {
                self.failed(generation);
            }
        }
    }

    /// The running browser, started if there is none. The lock is held while one
    /// starts, so that one start serves every tab waiting for it.
    fn browser(&self) -> Result<(u64, Arc<Browser>), BrowserError> {
        let mut current = self.current.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((generation, browser)) = current.as_ref() {
            return Ok((*generation, Arc::clone(browser)));
        }
        let mut started = self.started.lock().unwrap_or_else(PoisonError::into_inner);
        let browser = Arc::new(launch(&self.chrome, self.call_timeout)?);
        *started += 1;
        tracing::info!(
            chrome = %self.chrome.display(),
            pid = browser.get_process_id(),
            "browser started"
        );
        *current = Some((*started, Arc::clone(&browser)));
        Ok((*started, browser))
    }
}

/// Starts `chrome` headless, its network closed (see the module docs).
fn launch(chrome: &Path, call_timeout: Duration) -> Result<Browser, BrowserError> {
    let wrapper = pdeathsig_wrapper(chrome)?;
    let path = wrapper
        .as_ref()
        .map_or(chrome, |(_dir, path)| path.as_path());
    let args: Vec<&OsStr> = [
        CLOSED_PROXY,
        "--proxy-bypass-list=<-loopback>",
        "--host-resolver-rules=MAP * ~NOTFOUND",
        "--disable-component-update",
        "--disable-domain-reliability",
        "--no-default-browser-check",
        "--no-pings",
        "--mute-audio",
    ]
    .iter()
    .map(OsStr::new)
    .collect();
    let options = LaunchOptions {
        headless: true,
        // A root process cannot have Chromium's sandbox (CI runs as root).
        sandbox: !running_as_root(),
        path: Some(path.to_owned()),
        args,
        idle_browser_timeout: call_timeout,
        ..LaunchOptions::default()
    };
    let browser = Browser::new(options).map_err(|error| {
        BrowserError(format!(
            "cannot start the browser {}: {error}",
            chrome.display()
        ))
    })?;
    // The wrapper execs the browser: the script can go once it runs.
    drop(wrapper);
    Ok(browser)
}

/// A script that starts `chrome` through `setpriv --pdeathsig KILL`, in a temporary
/// directory dropped with it; `None` (and a warning) without `setpriv`.
fn pdeathsig_wrapper(chrome: &Path) -> Result<Option<(tempfile::TempDir, PathBuf)>, BrowserError> {
    let Ok(setpriv) = super::settings::find_program("setpriv") else {
        tracing::warn!("no setpriv (util-linux) on PATH: a crawler killed with SIGKILL leaves its browser running");
        return Ok(None);
    };
    let fail = |error: std::io::Error| {
        BrowserError(format!("cannot write the browser's start script: {error}"))
    };
    let dir = tempfile::Builder::new()
        .prefix("crawler-chrome-")
        .tempdir()
        .map_err(fail)?;
    let script = dir.path().join("chrome");
    let text = format!(
        "#!/bin/sh\nexec {} --pdeathsig KILL -- {} \"$@\"\n",
        shell_quote(&setpriv),
        shell_quote(chrome)
    );
    std::fs::write(&script, text).map_err(fail)?;
    let mut permissions = std::fs::metadata(&script).map_err(fail)?.permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o700);
    std::fs::set_permissions(&script, permissions).map_err(fail)?;
    Ok(Some((dir, script)))
}

fn shell_quote(path: &Path) -> String {
    format!("'{}'", path.display().to_string().replace('\'', r"'\''"))
}

/// Whether this process runs as root (the owner of `/proc/self` is its effective user).
fn running_as_root() -> bool {
    std::fs::metadata("/proc/self").is_ok_and(|meta| meta.uid() == 0)
}
