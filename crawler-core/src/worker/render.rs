//! The render pool (`--render`): threads that each drive one browser tab, render
//! the pages the workers queue, and answer every request a page makes through the
//! engine ([`EngineResolver`]), then store the rendered DOM and queue the links
//! found in it.
//!
//! A page's request is answered from the store when the store holds its URL;
//! otherwise the URL is admitted like an embed of the page (`via` render: scope,
//! URL filter, seen-set, queue budget), written to the store's frontier and reported
//! to the scheduler, which hands it to a worker when robots.txt and the host's
//! politeness allow; the render thread waits until its record is stored, then answers
//! from it. A render thread never fetches, and the workers never wait for a render,
//! so no thread waits for one that waits for it.
//!
//! The rendering is stored as a part of the page's own record (`Store::rendering`):
//! its DOM, how it settled (`idle`, `render-timeout`, `render-failed`) and the links
//! found in it, so a rendered page is one page to every count.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Instant;

use crawler_storage::{PageRecord, PageWrite, Rendering, RenderingWrite, Settled, StoreError};
use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};

use super::context::{unix_ms, WorkerContext};
use super::page::Candidate;
use super::render_queue::{AsFetched, RenderJob, RenderTask};
use crate::extract::{decode_html, extract_page, ExtractedPage};
use crate::hooks::{guarded, Page, PageActions};
use crate::messages::{Job, JobKind, Report, Via};
use crate::render::{
    visible_text, Browsers, Comparison, PausedRequest, RenderResources, RenderSettings, RenderTab,
    Rendered, Reply, RequestKind, Resolver, TabError,
};
use crate::robots::PageDirectives;
use crate::url::CanonicalUrl;

/// Pages a tab renders before it is closed and another opened (what a page leaves
/// behind in a tab, listeners and caches, does not pile up).
const TAB_PAGES: u32 = 50;

/// Starts the browser and `settings.tabs` render threads (`render-0`, ...) taking
/// tasks from `tasks` and reporting on `reports`.
pub(crate) fn start_renderers(
    context: &Arc<WorkerContext>,
    settings: &RenderSettings,
    tasks: &Receiver<RenderTask>,
    reports: &Sender<Report>,
) -> std::io::Result<Vec<thread::JoinHandle<()>>> {
    let browsers = Arc::new(Browsers::start(settings).map_err(std::io::Error::other)?);
    (0..settings.tabs)
        .map(|index| {
            let renderer = Renderer {
                context: Arc::clone(context),
                browsers: Arc::clone(&browsers),
                settings: settings.clone(),
                reports: reports.clone(),
                tab: None,
            };
            let tasks = tasks.clone();
            thread::Builder::new()
                .name(format!("render-{index}"))
                .spawn(move || renderer.run(&tasks))
        })
        .collect()
}

/// One render thread: its tab, and what it reports to.
struct Renderer {
    context: Arc<WorkerContext>,
    browsers: Arc<Browsers>,
    settings: RenderSettings,
    reports: Sender<Report>,
    /// The tab and the generation of the browser it belongs to.
    tab: Option<(u64, RenderTab)>,
}

impl Renderer {
    fn run(mut self, tasks: &Receiver<RenderTask>) {
        loop {
            let page = match tasks.recv_timeout(self.browsers.keep_alive_every()) {
                Ok(RenderTask::Page(page)) => page,
                Ok(RenderTask::Quit) | Err(RecvTimeoutError::Disconnected) => break,
                Err(RecvTimeoutError::Timeout) => {
                    self.browsers.keep_alive();
                    continue;
                }
            };
            let rendered = self.render(&page);
            let report = match self.context.store_rendered(&page, rendered) {
                Ok(discovered) => Report::Rendered {
                    discovered,
                    done: true,
                },
                Err(error) => {
                    tracing::error!(url = page.job.url.as_str(), %error, "cannot store the rendered page");
                    Report::Rendered {
                        discovered: Vec::new(),
                        done: true,
                    }
                }
            };
            if self.reports.send(report).is_err() {
                break;
            }
        }
        if let Some((_, tab)) = self.tab.take() {
            tab.close();
        }
    }

    /// Renders one page in this thread's tab (opened, or opened again, as needed).
    fn render(&mut self, page: &RenderJob) -> Result<Rendered, TabError> {
        let (generation, mut tab) = match self.tab.take() {
            Some(open) => open,
            None => {
                let (generation, tab) = self.browsers.tab().map_err(|e| TabError(e.to_string()))?;
                (generation, RenderTab::new(tab)?)
            }
        };
        let resolver = Arc::new(EngineResolver {
            context: Arc::clone(&self.context),
            job: page.job.clone(),
            body: page.body.clone(),
            content_type: page.content_type.clone(),
            resources: self.settings.resources,
            reports: self.reports.clone(),
            until: Instant::now() + self.settings.timeout,
        });
        let url = page.job.url.as_str();
        let rendered = tab.render(url, resolver, self.settings.idle, self.settings.timeout);
        match &rendered {
            Ok(_) if tab.pages < TAB_PAGES => self.tab = Some((generation, tab)),
            Ok(_) => tab.close(),
            Err(error) => {
                tracing::warn!(url, %error, "rendering failed: closing the tab");
                tab.close();
                if !self.browsers.answers(generation) {
                    self.browsers.failed(generation);
                }
            }
        }
        rendered
    }
}

/// Answers one page's requests through the engine (see the module docs). Once the
/// crawl dispatches nothing more (stopping, or its page budget spent), a URL not yet
/// stored fails at once.
struct EngineResolver {
    context: Arc<WorkerContext>,
    job: Job,
    body: Vec<u8>,
    content_type: Option<String>,
    resources: RenderResources,
    reports: Sender<Report>,
    /// When the render times out: no request waits past it.
    until: Instant,
}

impl Resolver for EngineResolver {
    fn document(&self) -> Reply {
        Reply::Fulfil {
            status: 200,
            headers: self
                .content_type
                .iter()
                .map(|ct| ("content-type".to_owned(), ct.clone()))
                .collect(),
            body: self.body.clone(),
        }
    }

    fn resolve(&self, request: &PausedRequest, closing: &AtomicBool) -> Reply {
        // Only a GET can be a fetch of the engine (a POST has effects).
        if request.method != "GET" {
            return Reply::Fail;
        }
        if request.kind == RequestKind::Media && self.resources == RenderResources::Needed {
            return Reply::empty();
        }
        let Ok(url) = CanonicalUrl::parse(&request.url) else {
            return Reply::Fail;
        };
        if url == self.job.url {
            return self.document();
        }
        match self.fetched(&url, closing) {
            Ok(reply) => reply,
            Err(error) => {
                tracing::warn!(url = url.as_str(), %error, "cannot answer a rendering page's request");
                Reply::Fail
            }
        }
    }
}

impl EngineResolver {
    /// `url` as the store holds it, queued and waited for when it does not yet.
    fn fetched(&self, url: &CanonicalUrl, closing: &AtomicBool) -> Result<Reply, StoreError> {
        let store = &self.context.store;
        let Some(renders) = &self.context.render else {
            return Ok(Reply::Fail);
        };
        let mut queued = false;
        loop {
            let writes = renders.writes();
            if let Some(record) = store.page(url.as_str())? {
                return self.stored(url, &record);
            }
            if !queued {
                queued = true;
                if !self.queue(url)? {
                    return Ok(Reply::Fail);
                }
            }
            if renders.is_closed() || closing.load(Ordering::SeqCst) || Instant::now() >= self.until
            {
                return Ok(Reply::Fail);
            }
            // Woken by the next write of a worker (the URL's record, or another).
            renders.wait_for_write(writes, self.until);
        }
    }

    /// Admits `url` as an embed of the page: written to the store's frontier and
    /// reported to the scheduler. False when the scope refuses it (it is never
    /// fetched); true when it is queued, or was seen already (its record is coming).
    fn queue(&self, url: &CanonicalUrl) -> Result<bool, StoreError> {
        let context = &self.context;
        if !context.scope.admits_embed(url) {
            return Ok(false);
        }
        let candidate = Candidate {
            url: url.clone(),
            depth: self.job.depth.saturating_add(1),
            hops: 0,
            kind: JobKind::Page,
            via: Via::Render,
            embeds: 1,
            anchor_text: None,
            lastmod: None,
            changefreq_s: None,
        };
        let mut claims = context.seen.claims();
        let mut failures = Vec::new();
        let admitted = context.admit(&self.job, vec![candidate], &mut claims, &mut failures)?;
        if admitted.over_budget.total() > 0 || !failures.is_empty() {
            return Ok(false);
        }
        if admitted.discovered.is_empty() && admitted.settled.is_empty() {
            return Ok(true);
        }
        context.write(&PageWrite {
            discovered: &admitted.discovered,
            settled: &admitted.settled,
            ..PageWrite::default()
        })?;
        drop(claims);
        let _ = self.reports.send(Report::Rendered {
            discovered: admitted.queued,
            done: false,
        });
        Ok(true)
    }

    /// The answer a stored record gives: its status, headers and body; a URL that
    /// was not fetched (refused by robots.txt, failed) fails in the page.
    fn stored(&self, url: &CanonicalUrl, record: &PageRecord) -> Result<Reply, StoreError> {
        let Some(status) = record.status else {
            return Ok(Reply::Fail);
        };
        let store = &self.context.store;
        let body = store.body(url.as_str())?.unwrap_or_default();
        let headers = match store.exchange(url.as_str())? {
            Some(exchange) => exchange
                .response
                .headers
                .into_iter()
                .filter(|(name, _)| replayable(name))
                .collect(),
            None => (record.content_type.iter())
                .map(|ct| ("content-type".to_owned(), ct.clone()))
                .collect(),
        };
        Ok(Reply::Fulfil {
            status,
            headers,
            body,
        })
    }
}

/// Whether a stored response header can be given to the browser as it is: not one
/// about the transfer (the stored body is decoded and whole), nor a cookie (stored
/// redacted).
fn replayable(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    !matches!(
        name.as_str(),
        "content-length" | "content-encoding" | "transfer-encoding" | "connection" | "set-cookie"
    )
}

impl WorkerContext {
    /// Stores a page's rendering (see the module docs) with the URLs its rendered
    /// DOM leads to, and returns those that are new, for the frontier.
    fn store_rendered(
        &self,
        page: &RenderJob,
        rendered: Result<Rendered, TabError>,
    ) -> Result<Vec<crate::messages::Queued>, StoreError> {
        let job = &page.job;
        let mut found = Rendering {
            settled: Settled::Idle,
            message: None,
            rendered_at_ms: unix_ms(),
            title: None,
            bytes: 0,
            links: Vec::new(),
        };
        let mut candidates = Vec::new();
        let mut dom = Vec::new();
        let mut text_rendered = None;
        match rendered {
            Err(error) => self.render_error(job, &mut found, Settled::RenderFailed, error.0),
            Ok(rendered) => {
                if rendered.timed_out {
                    let message =
                        "not settled within --render-timeout: the DOM as it was then is kept";
                    self.render_error(job, &mut found, Settled::RenderTimeout, message.into());
                }
                candidates = self.rendered_links(job, &rendered, &mut found);
                found.bytes = rendered.html.len() as u64;
                if let Some(fetched) = &page.trial {
                    text_rendered = Some((fetched, visible_text(&rendered.html)));
                }
                dom = rendered.html.into_bytes();
            }
        }
        let mut claims = self.seen.claims();
        let mut failures = Vec::new();
        let admitted = self.admit(job, candidates, &mut claims, &mut failures)?;
        self.write(&PageWrite {
            rendering: Some(RenderingWrite {
                url: job.url.as_str(),
                rendering: &found,
                dom: &dom,
            }),
            discovered: &admitted.discovered,
            settled: &admitted.settled,
            ..PageWrite::default()
        })?;
        drop(claims);
        self.progress.record_rendered(found.settled);
        if page.trial.is_some() {
            let comparison =
                text_rendered.map(|(fetched, text)| self.compare(fetched, &found, text));
            let host = job.url.host_key();
            let path = job.url.as_url().path();
            (self.progress.render_hosts).compared(host.as_str(), path, comparison);
        }
        Ok(admitted.queued)
    }

    /// A trial page's rendering against the page as fetched (`--render auto`): the
    /// links it found that the scope admits and the page had not, and its text.
    fn compare(&self, fetched: &AsFetched, found: &Rendering, text: usize) -> Comparison {
        let new_links = (found.links.iter())
            .filter(|link| !fetched.links.contains(*link))
            .filter_map(|link| CanonicalUrl::parse(link).ok())
            .filter(|url| self.scope.admits(url))
            .count();
        Comparison {
            new_links,
            text_fetched: fetched.text,
            text_rendered: text,
        }
    }

    /// Records what went wrong with a rendering (the page as fetched is fine).
    fn render_error(&self, job: &Job, found: &mut Rendering, settled: Settled, message: String) {
        tracing::debug!(
            url = job.url.as_str(),
            settled = settled.as_str(),
            message,
            "rendering"
        );
        found.settled = settled;
        found.message = Some(message);
    }

    /// The links of the rendered DOM (`<a>` and the rest, as in a fetched page) and
    /// the URLs the page moved to, as candidates one level deeper: the outlinks of
    /// the rendering, followed unless the DOM says `nofollow` or the depth is reached.
    fn rendered_links(
        &self,
        job: &Job,
        rendered: &Rendered,
        found: &mut Rendering,
    ) -> Vec<Candidate> {
        let (html, _) = decode_html(rendered.html.as_bytes(), Some("text/html; charset=utf-8"));
        let base = url::Url::parse(&rendered.href)
            .ok()
            .filter(|href| matches!(href.scheme(), "http" | "https"))
            .unwrap_or_else(|| job.url.as_url().clone());
        let extracted = extract_page(&html, &base, self.settings.max_links_per_page, false);
        found.title = extracted.title.clone();
        let mut actions = self.handle_rendered(job, &html, &extracted, found);
        let outlinks = &mut found.links;
        let directives = PageDirectives::read(
            extracted.meta_robots.as_deref(),
            &[],
            &self.settings.robots_agent,
        );
        let depth = job.depth.saturating_add(1);
        let follow = !directives.nofollow && self.settings.max_depth.is_none_or(|max| depth <= max);
        let mut candidates = Vec::new();
        let moved = (rendered.moved.iter().chain([&rendered.href]))
            .filter_map(|url| CanonicalUrl::parse(url).ok())
            .filter(|url| *url != job.url);
        for link in extracted.links {
            outlinks.push(link.url.as_str().to_owned());
            let wanted = self.settings.follow_nofollow || !link.nofollow;
            if follow && wanted && actions.follows(&link.url) {
                candidates.push(Candidate::link(link.url, depth, link.anchor_text));
            }
        }
        let added = std::mem::take(&mut actions.added);
        for url in moved.chain(added.into_iter().filter(|_| follow)) {
            outlinks.push(url.as_str().to_owned());
            if follow && actions.follows(&url) {
                candidates.push(Candidate::link(url, depth, None));
            }
        }
        candidates
    }

    /// The embedder's page handler on the rendered DOM: what it asks of the links. A
    /// failure is counted (`hook-failed`) and said in the rendering's message.
    fn handle_rendered(
        &self,
        job: &Job,
        html: &str,
        extracted: &ExtractedPage,
        found: &mut Rendering,
    ) -> PageActions {
        let mut actions = PageActions::default();
        let Some(handler) = &self.hooks.handler else {
            return actions;
        };
        let view = Page {
            url: &job.url,
            depth: job.depth,
            status: 200,
            headers: &[],
            text: html,
            links: &extracted.links,
            title: extracted.title.as_deref(),
            rendered: true,
            html: Default::default(),
        };
        if let Err(failure) = guarded("page handler", || handler.handle(&view, &mut actions)) {
            tracing::warn!(url = job.url.as_str(), message = failure, "hook failed");
            self.progress.record_hook_failure();
            found.message.get_or_insert(failure);
            actions = PageActions::default();
        }
        actions
    }
}
