//! One page rendered in one tab: every request the page makes paused (the DevTools
//! Fetch domain) and answered by a [`Resolver`], the page settled when its network
//! was idle long enough (or at the timeout), then its DOM and the URLs it moved to
//! read out.
//!
//! The crate calls the interceptor on the tab's event thread, one paused request at
//! a time; a request waiting for the engine holds the others of the tab, so a page's
//! requests reach the engine one after another (which politeness would space anyway).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use base64::Engine as _;
use headless_chrome::browser::tab::RequestPausedDecision;
use headless_chrome::protocol::cdp::Fetch::{
    events::RequestPausedEvent, FailRequest, FulfillRequest, HeaderEntry, RequestPattern,
    RequestStage,
};
use headless_chrome::protocol::cdp::Network::{ErrorReason, ResourceType};
use headless_chrome::protocol::cdp::Page::AddScriptToEvaluateOnNewDocument;
use headless_chrome::Tab;

use super::request::{PausedRequest, Reply, RequestKind, Resolver};

/// Records the URLs `history.pushState` and `replaceState` move to, before any
/// script of the page runs.
const WATCH_HISTORY: &str = r#"(() => {
  const moved = [];
  Object.defineProperty(window, "__crawlerMoved", { value: moved });
  for (const name of ["pushState", "replaceState"]) {
    const original = history[name];
    history[name] = function (state, title, url) {
      if (url !== undefined && url !== null) {
        try { moved.push(new URL(url, document.baseURI).href); } catch (e) {}
      }
      return original.apply(this, arguments);
    };
  }
})();"#;

/// What is read from the rendered page.
const READ_PAGE: &str = r#"JSON.stringify({
  html: document.documentElement ? document.documentElement.outerHTML : "",
  href: location.href,
  moved: window.__crawlerMoved || []
})"#;

/// How often the settling is looked at.
const LOOK_EVERY: Duration = Duration::from_millis(20);

/// A rendered page.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Rendered {
    /// The DOM, serialized.
    pub html: String,
    /// Where the page says it is at the end (`location.href`).
    pub href: String,
    /// URLs the page moved to with `pushState` or `replaceState`, and documents its
    /// main frame tried to navigate to (`window.location = ...`, a form).
    pub moved: Vec<String>,
    /// It had not settled by the timeout.
    pub timed_out: bool,
}

/// A tab that could not render: the browser crashed, or a call to it (loading the
/// page, reading the DOM) went unanswered past the browser's call timeout (a hung tab;
/// `browser.rs`).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct TabError(pub String);

/// The requests of the page in the tab: how many are pending and when the last
/// ended; the navigations its main frame tried; whether the page is being left.
#[derive(Debug)]
struct Activity {
    pending: AtomicUsize,
    last: Mutex<Instant>,
    document_served: AtomicBool,
    navigations: Mutex<Vec<String>>,
    closing: AtomicBool,
}

/// A tab ready to render pages: requests intercepted, history watched.
pub struct RenderTab {
    tab: Arc<Tab>,
    /// Pages rendered in it.
    pub pages: u32,
}

impl RenderTab {
    /// Prepares `tab`.
    pub fn new(tab: Arc<Tab>) -> Result<RenderTab, TabError> {
        tab.call_method(AddScriptToEvaluateOnNewDocument {
            source: WATCH_HISTORY.to_owned(),
            world_name: None,
            include_command_line_api: None,
            run_immediately: None,
        })
        .map_err(|e| TabError(format!("cannot watch the history: {e}")))?;
        let everything = RequestPattern {
            url_pattern: Some("*".to_owned()),
            resource_Type: None,
            request_stage: Some(RequestStage::Request),
        };
        tab.enable_fetch(Some(&[everything]), None)
            .map_err(|e| TabError(format!("cannot intercept requests: {e}")))?;
        Ok(RenderTab { tab, pages: 0 })
    }

    /// Renders `url`: its document and every request answered by `resolver`.
    pub fn render(
        &mut self,
        url: &str,
        resolver: Arc<dyn Resolver>,
        idle: Duration,
        timeout: Duration,
    ) -> Result<Rendered, TabError> {
        self.pages += 1;
        let activity = Arc::new(Activity {
            pending: AtomicUsize::new(0),
            last: Mutex::new(Instant::now()),
            document_served: AtomicBool::new(false),
            navigations: Mutex::new(Vec::new()),
            closing: AtomicBool::new(false),
        });
        let seen = Arc::clone(&activity);
        // A page's main frame has its target's id.
        let main_frame = self.tab.get_target_id().clone();
        let interceptor = Arc::new(move |_transport, _session, event: RequestPausedEvent| {
            decide(&seen, resolver.as_ref(), &main_frame, &event)
        });
        self.tab
            .enable_request_interception(interceptor)
            .map_err(|e| TabError(format!("cannot intercept requests: {e}")))?;
        let started = Instant::now();
        let navigated = self.tab.navigate_to(url);
        let outcome = navigated
            .map_err(|e| TabError(format!("cannot load the page: {e}")))
            .and_then(|_| {
                let timed_out = !settle(&activity, started, idle, timeout);
                self.read(timed_out)
            });
        // Whatever the page still asks for is refused from now on, and it is left.
        activity.closing.store(true, Ordering::SeqCst);
        let _ = self.tab.navigate_to("about:blank");
        let mut rendered = outcome?;
        let navigations = activity
            .navigations
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        rendered.moved.extend(navigations.iter().cloned());
        Ok(rendered)
    }

    fn read(&self, timed_out: bool) -> Result<Rendered, TabError> {
        let value = self
            .tab
            .evaluate(READ_PAGE, false)
            .map_err(|e| TabError(format!("cannot read the rendered page: {e}")))?
            .value;
        let text = value
            .as_ref()
            .and_then(serde_json::Value::as_str)
            .ok_or_else(|| TabError("the rendered page read as no text".to_owned()))?;
        let read: serde_json::Value = serde_json::from_str(text)
            .map_err(|e| TabError(format!("the rendered page read as bad JSON: {e}")))?;
        let field = |name: &str| read.get(name).and_then(serde_json::Value::as_str);
        let moved = (read.get("moved").and_then(serde_json::Value::as_array))
            .map(|urls| {
                urls.iter()
                    .filter_map(|url| url.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        Ok(Rendered {
            html: field("html").unwrap_or_default().to_owned(),
            href: field("href").unwrap_or_default().to_owned(),
            moved,
            timed_out,
        })
    }

    /// Closes the tab (it hung, or has rendered its share of pages).
    pub fn close(self) {
        let _ = self.tab.close_target();
    }
}

/// Waits until the page's network was idle for `idle` (true), or `timeout` has
/// passed since `started` (false).
fn settle(activity: &Activity, started: Instant, idle: Duration, timeout: Duration) -> bool {
    loop {
        let now = Instant::now();
        let quiet_since = *activity.last.lock().unwrap_or_else(PoisonError::into_inner);
        let quiet = activity.pending.load(Ordering::SeqCst) == 0
            && activity.document_served.load(Ordering::SeqCst)
            && now.duration_since(quiet_since) >= idle;
        if quiet {
            return true;
        }
        if now.duration_since(started) >= timeout {
            return false;
        }
        std::thread::sleep(LOOK_EVERY);
    }
}

/// The answer to one paused request, counted as pending while it is worked out.
fn decide(
    activity: &Activity,
    resolver: &dyn Resolver,
    main_frame_id: &str,
    event: &RequestPausedEvent,
) -> RequestPausedDecision {
    let params = &event.params;
    let request_id = params.request_id.clone();
    let fail = || {
        RequestPausedDecision::Fail(FailRequest {
            request_id: request_id.clone(),
            error_reason: ErrorReason::BlockedByClient,
        })
    };
    if activity.closing.load(Ordering::SeqCst) {
        return fail();
    }
    activity.pending.fetch_add(1, Ordering::SeqCst);
    let main_frame =
        params.resource_Type == ResourceType::Document && params.frame_id == main_frame_id;
    let reply = if main_frame && !activity.document_served.swap(true, Ordering::SeqCst) {
        resolver.document()
    } else if main_frame {
        // The page moves itself elsewhere: a link to follow, not a page to load here.
        (activity
            .navigations
            .lock()
            .unwrap_or_else(PoisonError::into_inner))
        .push(params.request.url.clone());
        Reply::Fail
    } else {
        let kind = match params.resource_Type {
            ResourceType::Image | ResourceType::Font | ResourceType::Media => RequestKind::Media,
            _ => RequestKind::Other,
        };
        let request = PausedRequest {
            url: params.request.url.clone(),
            method: params.request.method.clone(),
            kind,
        };
        resolver.resolve(&request, &activity.closing)
    };
    *activity.last.lock().unwrap_or_else(PoisonError::into_inner) = Instant::now();
    activity.pending.fetch_sub(1, Ordering::SeqCst);
    match reply {
        Reply::Fail => fail(),
        Reply::Fulfil {
            status,
            headers,
            body,
        } => RequestPausedDecision::Fulfill(FulfillRequest {
            request_id,
            response_code: u32::from(status),
            response_headers: Some(
                headers
                    .into_iter()
                    .map(|(name, value)| HeaderEntry { name, value })
                    .collect(),
            ),
            binary_response_headers: None,
            body: Some(base64::engine::general_purpose::STANDARD.encode(body)),
            response_phrase: None,
        }),
    }
}
