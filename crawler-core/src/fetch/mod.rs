//! Fetching one URL: the shared blocking client, timeouts, the body limit, the
//! addresses it may connect to, and which [`ErrorKind`] a failed fetch is.
//!
//! Redirects are not followed here: a 3xx comes back as a response with its
//! `Location`, and the engine queues the target like any link, through scope, dedup
//! and the target host's politeness; each hop is a fetch of its own, so the address
//! rules (`address.rs`) judge every hop.

mod address;
mod cookie_jar;
mod cookies_txt;
mod credentials;
mod exchange;
mod headers;
mod pools;
mod proxy;
mod resolver;

use std::io::Read;
use std::sync::{Arc, Once};
use std::time::{Duration, Instant, SystemTime};

use reqwest::header::{self, HeaderMap};
use url::Url;

pub use address::{
    parse_network, AddressPolicy, AddressRefused, AddressRule, AddressRuleError, GuardedResolver,
    Refusal, SeedHosts,
};
pub use cookie_jar::{CookieJar, CookieRefused, MAX_COOKIES, MAX_PER_DOMAIN};
pub use cookies_txt::{read_cookies_file, CookieFileError, FileCookie};
pub use credentials::{Credential, Credentials, HostCredential};
pub use headers::{header, HeaderError, HeaderRule, HostKeyError, PerHost};
pub use proxy::{
    NoProxyError, NoProxyList, ProxyReport, ProxySetting, ProxySettingError, ProxyUrl,
    ProxyUrlError, MAX_PROXIES, PROXY_SCHEMES,
};
pub use resolver::{DnsFailure, OverrideResolver, ResolveRule, ResolveRuleError};

use crate::error_kind::ErrorKind;
use pools::{Keep, Pools};
use proxy::{EnvProxies, ProxyPool};

/// A failed fetch: its kind and a human-readable detail.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FetchError {
    /// What kind of failure (the error kind the store records): one of the kinds
    /// a fetch can fail with, from `timeout` to `other`.
    pub kind: ErrorKind,
    /// The detail, for people.
    pub message: String,
}

/// The response headers the store keeps.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ResponseMeta {
    /// The status code.
    pub status: u16,
    /// The `Content-Type` header.
    pub content_type: Option<String>,
    /// The `Content-Length` header.
    pub content_length: Option<u64>,
    /// The `Last-Modified` header.
    pub last_modified: Option<String>,
    /// The `ETag` header.
    pub etag: Option<String>,
    /// The `Location` header.
    pub location: Option<String>,
    /// The `Retry-After` header, as sent (see [`retry_after`]).
    pub retry_after: Option<String>,
    /// The `X-Robots-Tag` headers, one per header line (a line may name a crawler).
    pub x_robots_tag: Vec<String>,
    /// The HTTP version of the response (`HTTP/1.1`, `HTTP/2.0`).
    pub http_version: String,
    /// The response came over TLS whose certificate was not checked (`--insecure`).
    pub tls_unverified: bool,
}

impl ResponseMeta {
    /// Whether the body is HTML (`text/html` or `application/xhtml+xml`).
    pub fn is_html(&self) -> bool {
        self.content_type.as_deref().is_some_and(|ct| {
            let mime = ct.split(';').next().unwrap_or_default().trim();
            mime.eq_ignore_ascii_case("text/html")
                || mime.eq_ignore_ascii_case("application/xhtml+xml")
        })
    }

    /// Whether the `Content-Type` says a stylesheet (`text/css`).
    pub fn is_css(&self) -> bool {
        self.content_type.as_deref().is_some_and(|ct| {
            let mime = ct.split(';').next().unwrap_or_default().trim();
            mime.eq_ignore_ascii_case("text/css")
        })
    }
}

/// What one fetch produced: a response (maybe with a body), an error, or both
/// (a response whose body broke the limit or the connection).
#[derive(Debug)]
pub struct FetchOutcome {
    /// The status and the headers the store keeps; `None` when no response arrived.
    pub response: Option<ResponseMeta>,
    /// The request sent and the response head received, for the store.
    pub exchange: Option<crawler_storage::HttpExchange>,
    /// The decompressed body (empty when discarded or absent).
    pub body: Vec<u8>,
    /// What went wrong, if anything.
    pub error: Option<FetchError>,
    /// Decompressed body bytes received, also when the body was discarded.
    pub bytes: u64,
    /// How long the fetch took, body included.
    pub elapsed: Duration,
    /// When the response headers arrived (or the request failed). The server saw the
    /// request before this instant, which makes it the safe base for politeness spacing.
    pub answered: Instant,
    /// The `--proxy` the request went through, its credentials masked; `None` when
    /// it went direct (or through the environment's proxies).
    pub proxy: Option<Arc<str>>,
}

/// The client could not be built (bad TLS setup, bad header value).
#[derive(Debug, thiserror::Error)]
#[error("cannot build the HTTP client: {0}")]
pub struct ClientBuildError(#[from] reqwest::Error);

/// One blocking HTTP client shared by every worker (it pools connections per host).
#[derive(Clone)]
pub struct Fetcher {
    routes: Arc<Routes>,
    timeout: Duration,
    max_body: u64,
    request_headers: exchange::RequestHeaders,
    credentials: Credentials,
    addresses: Arc<AddressPolicy>,
    insecure: bool,
    cookies: Option<Arc<CookieJar>>,
}

static CRYPTO_PROVIDER: Once = Once::new();

/// How long an idle pooled connection is kept: long enough for a host's next request
/// at the default rate (2 a second). How many hosts may keep one is bounded apart
/// (`pools`), from the open-file limit.
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(2);

/// How long a request waits for a socket while the process is out of descriptors
/// (idle connections close within [`POOL_IDLE_TIMEOUT`] and give theirs back).
const DESCRIPTOR_PATIENCE: Duration = Duration::from_secs(60);

/// What fetching needs to know of a crawl's settings (see
/// `ValidConfig::fetch_settings`).
#[derive(Clone, Debug)]
pub struct FetchSettings {
    /// The `User-Agent` header.
    pub user_agent: String,
    /// Total time allowed for one request, body included.
    pub timeout: Duration,
    /// Time allowed to open a connection.
    pub connect_timeout: Duration,
    /// Largest body accepted, counted on decompressed bytes.
    pub max_body: u64,
    /// Idle connections kept per host (the requests one host may have open at once).
    pub idle_per_host: usize,
    /// Name-to-address overrides.
    pub resolve: Vec<ResolveRule>,
    /// Basic credentials by origin (from seed URLs' userinfo), and by host.
    pub credentials: Credentials,
    /// The addresses requests may connect to.
    pub addresses: AddressPolicy,
    /// Headers every request carries or leaves out (`-H`), after the defaults.
    pub headers: Vec<HeaderRule>,
    /// Headers of single hosts, applied after `headers`.
    pub host_headers: PerHost<Vec<HeaderRule>>,
    /// Speak HTTP/1.1 only, not HTTP/2 where a server offers it.
    pub http1_only: bool,
    /// Accept any TLS certificate: self-signed, expired, for another name.
    pub insecure: bool,
    /// Root certificates trusted besides the system's.
    pub root_certificates: Vec<reqwest::Certificate>,
    /// The crawl's cookie jar: each request carries its matching cookies, and each
    /// response's `Set-Cookie` goes into it. `None`: no cookies (`--no-cookies`).
    pub cookies: Option<Arc<CookieJar>>,
    /// The proxies requests go through.
    pub proxy: ProxySetting,
}

/// How requests leave: the clients, and the proxy pool that picks among them.
enum Routes {
    /// Direct, or through the environment's proxies (which the client applies).
    Direct(Pools),
    /// Through a `--proxy` pool.
    Proxied(Box<Proxied>),
}

/// A `--proxy` pool and its clients.
struct Proxied {
    pool: ProxyPool,
    /// A client pair per proxy, in the pool's order.
    via: Vec<Pools>,
    /// For the hosts `no_proxy` matches.
    direct: Pools,
    no_proxy: NoProxyList,
}

impl Fetcher {
    /// Builds the shared HTTP client (timeouts, user agent, resolve rules, body limit).
    pub fn new(settings: &FetchSettings) -> Result<Fetcher, ClientBuildError> {
        CRYPTO_PROVIDER.call_once(|| {
            // Fails only if another provider is installed already, which is as good.
            let _ = rustls::crypto::ring::default_provider().install_default();
        });
        let environment = EnvProxies::from_env();
        let (through_environment, pool) = proxies_to_use(&settings.proxy, environment);
        for origin in settings.credentials.origins() {
            tracing::info!(
                origin,
                "a seed's user name and password go to this origin only"
            );
        }
        let addresses = Arc::new(settings.addresses.clone());
        let opened = addresses.seeded_classes();
        if !opened.is_empty() {
            tracing::info!(
                classes = opened.join(", "),
                "a seed is on these guarded addresses: they may be connected to"
            );
        }
        let mut proxy_hosts = through_environment
            .as_ref()
            .map(EnvProxies::hosts)
            .unwrap_or_default();
        if let Some((proxies, _)) = &pool {
            proxy_hosts.extend(proxies.iter().map(ProxyUrl::host));
        }
        let rules = OverrideResolver::new(settings.resolve.clone());
        if settings.insecure {
            tracing::warn!("--insecure: TLS certificates are not checked; anyone between us and a host can answer for it");
        }
        let client = |idle_per_host: usize, rules: &OverrideResolver, proxy: Option<&ProxyUrl>| {
            let resolver =
                GuardedResolver::new(rules.clone(), Arc::clone(&addresses), proxy_hosts.clone());
            // `no_proxy` first: the client reads no proxy of its own from the environment.
            let mut builder = reqwest::blocking::Client::builder().no_proxy();
            if settings.http1_only {
                builder = builder.http1_only();
            }
            if settings.insecure {
                builder = builder.tls_danger_accept_invalid_certs(true);
            }
            if !settings.root_certificates.is_empty() {
                builder = builder.tls_certs_merge(settings.root_certificates.clone());
            }
            if let Some(environment) = &through_environment {
                builder = environment.apply(builder, &settings.resolve)?;
            }
            if let Some(proxy) = proxy {
                builder = builder.proxy(reqwest::Proxy::all(proxy.url().as_str())?);
            }
            builder
                .user_agent(settings.user_agent.clone())
                .redirect(reqwest::redirect::Policy::none())
                .connect_timeout(settings.connect_timeout)
                .timeout(settings.timeout)
                .pool_idle_timeout(POOL_IDLE_TIMEOUT)
                .pool_max_idle_per_host(idle_per_host)
                .tcp_nodelay(true)
                .dns_resolver(Arc::new(resolver))
                .build()
        };
        let idle_per_host = settings.idle_per_host.max(1);
        let routes = pool.as_ref().map_or(1, |(proxies, _)| proxies.len() + 1);
        // The descriptors are shared among the routes.
        let budget = (pools::pooled_hosts_budget(idle_per_host) / routes).max(1);
        tracing::debug!(hosts = budget, "hosts that may keep idle connections");
        let route = |rules: &OverrideResolver, proxy: Option<&ProxyUrl>| {
            Ok::<_, reqwest::Error>(pools::Route {
                pooled: client(idle_per_host, rules, proxy)?,
                unpooled: client(0, rules, proxy)?,
            })
        };
        let pools = |proxy: Option<&ProxyUrl>| -> reqwest::Result<Pools> {
            let by_port = rules
                .ports()
                .into_iter()
                .map(|port| Ok((port, route(&rules.for_port(port), proxy)?)))
                .collect::<reqwest::Result<_>>()?;
            Ok(Pools::new(
                by_port,
                route(&OverrideResolver::default(), proxy)?,
                budget,
                POOL_IDLE_TIMEOUT * 2,
            ))
        };
        let routes = match pool {
            None => Routes::Direct(pools(None)?),
            Some((proxies, no_proxy)) => Routes::Proxied(Box::new(Proxied {
                pool: ProxyPool::new(&proxies),
                via: proxies
                    .iter()
                    .map(|proxy| pools(Some(proxy)))
                    .collect::<reqwest::Result<_>>()?,
                direct: pools(None)?,
                no_proxy,
            })),
        };
        Ok(Fetcher {
            routes: Arc::new(routes),
            timeout: settings.timeout,
            max_body: settings.max_body,
            request_headers: exchange::RequestHeaders::new(
                &settings.user_agent,
                &settings.headers,
                &settings.host_headers,
            ),
            credentials: settings.credentials.clone(),
            addresses,
            insecure: settings.insecure,
            cookies: settings.cookies.clone(),
        })
    }

    /// Fetches `url` once. Never panics and never takes (much) longer than the timeout.
    pub fn fetch(&self, url: &Url) -> FetchOutcome {
        self.fetch_with_limit(url, BodyLimit::Refuse(self.max_body))
    }

    /// The largest body [`Fetcher::fetch`] accepts.
    pub fn max_body(&self) -> u64 {
        self.max_body
    }

    /// [`Fetcher::fetch`] with another body limit: robots.txt files are read up to what
    /// is parsed, sitemaps up to the protocol's 50 MB.
    pub fn fetch_with_limit(&self, url: &Url, limit: BodyLimit) -> FetchOutcome {
        self.fetch_keeping(url, limit, Keep::Connection, None)
    }

    /// [`Fetcher::fetch_with_limit`] (or [`Fetcher::fetch_closing`] when `closing`)
    /// as a conditional request: it also sends `validators`, so an unchanged page
    /// may answer `304 Not Modified` with no body.
    pub fn fetch_if_changed(
        &self,
        url: &Url,
        limit: BodyLimit,
        closing: bool,
        validators: &Validators,
    ) -> FetchOutcome {
        let keep = match closing {
            true => Keep::Nothing,
            false => Keep::Connection,
        };
        self.fetch_keeping(url, limit, keep, Some(validators))
    }

    /// [`Fetcher::fetch_with_limit`] for a host's last request for a while: its
    /// connection is closed after the response (`Connection: close`), and the host's
    /// place among those that may keep one is given back at once, not after the idle
    /// timeout.
    pub fn fetch_closing(&self, url: &Url, limit: BodyLimit) -> FetchOutcome {
        self.fetch_keeping(url, limit, Keep::Nothing, None)
    }

    fn fetch_keeping(
        &self,
        url: &Url,
        limit: BodyLimit,
        keep: Keep,
        validators: Option<&Validators>,
    ) -> FetchOutcome {
        let way = Way {
            limit,
            keep,
            validators,
        };
        match &*self.routes {
            Routes::Direct(clients) => self.fetch_through(url, &way, clients, None).0,
            Routes::Proxied(proxied) => self.fetch_proxied(proxied, url, &way),
        }
    }

    /// A fetch through the pool: through the host's proxy, and when a proxy fails
    /// it, through the next live one, each proxy at most once.
    fn fetch_proxied(&self, proxied: &Proxied, url: &Url, way: &Way<'_>) -> FetchOutcome {
        let host = url.host_str().unwrap_or_default();
        if proxied.no_proxy.matches(host) {
            return self.fetch_through(url, way, &proxied.direct, None).0;
        }
        let pool = &proxied.pool;
        let key = ProxyPool::host_key(host);
        let started = Instant::now();
        let mut tried = 0u64;
        let mut failures: Vec<String> = Vec::new();
        // A proxy that said it could not carry the request, held until another
        // proxy is asked: if that one carries it, the first was at fault; if it
        // cannot either, the site is (a down site in a broad crawl, a refused
        // tunnel through every proxy), and neither proxy is held to it.
        let mut suspect: Option<(usize, proxy::Fault, String)> = None;
        loop {
            let index = match pool.pick(key, tried) {
                Ok(index) => index,
                Err(none) => {
                    if let Some((first, fault, detail)) = suspect.take() {
                        // No other proxy to ask.
                        pool.failed(first, fault, &detail);
                    }
                    let mut outcome = FetchOutcome::failed(
                        started,
                        ErrorKind::Proxy,
                        no_proxy_left(&failures, none.next_back, pool.len()),
                    );
                    outcome.proxy = None;
                    return outcome;
                }
            };
            tried |= 1 << index;
            let through = Some((
                pool.host(index),
                url.scheme() == "http" && proxied_in_clear(pool.shown(index)),
            ));
            let (mut outcome, fault) = self.fetch_through(url, way, &proxied.via[index], through);
            outcome.proxy = Some(Arc::clone(pool.shown(index)));
            let Some(fault) = fault else {
                if let Some((first, fault, detail)) = suspect.take() {
                    pool.failed(first, fault, &detail);
                }
                pool.succeeded(index);
                return outcome;
            };
            let detail = match (&outcome.error, &outcome.response) {
                (Some(error), _) => error.message.clone(),
                (None, Some(response)) => format!("it answered {}", response.status),
                (None, None) => String::new(),
            };
            failures.push(format!(
                "{}: {}: {detail}",
                pool.shown(index),
                fault.describe()
            ));
            if !fault.is_certain() {
                if suspect.is_some() {
                    // Two proxies could not carry it: the site's failure.
                    if let Some(error) = &mut outcome.error {
                        error.message =
                            format!("two proxies could not reach it: {}", failures.join("; "));
                    }
                    return outcome;
                }
                suspect = Some((index, fault, detail));
                continue;
            }
            pool.failed(index, fault, &detail);
        }
    }

    /// One fetch through `clients`; `through` is the proxy's host, and whether the
    /// proxy forwards the request itself (plain http through an HTTP proxy), when
    /// the request goes through a `--proxy`: then the proxy's fault, if it failed.
    fn fetch_through(
        &self,
        url: &Url,
        way: &Way<'_>,
        clients: &Pools,
        through: Option<(&str, bool)>,
    ) -> (FetchOutcome, Option<proxy::Fault>) {
        let keep = way.keep;
        let (max_body, truncate) = match way.limit {
            BodyLimit::Refuse(max) => (max, false),
            BodyLimit::Truncate(max) => (max, true),
        };
        let started = Instant::now();
        let mut outcome = FetchOutcome::started(started);
        if let Some(refusal) = self.addresses.check_literal(url) {
            // No resolver sees an address: judged here, before any connection.
            outcome.error = Some(FetchError {
                kind: ErrorKind::AddressRefused,
                message: format!("not connected: {refusal}"),
            });
            return (outcome, None);
        }
        // Looked up once: every try sends, and the record shows, the same headers,
        // credential and cookies.
        let cookie = self.cookies.as_ref().and_then(|jar| jar.header_for(url));
        let headers = self.request_headers.for_url(url);
        let conditional = way
            .validators
            .map(|validators| validators.added_to(headers));
        let asked = Asked {
            headers: conditional.as_ref().unwrap_or(headers),
            credential: self.credentials.for_url(url),
            cookie: cookie.as_ref(),
        };
        let mut sent = self.send(clients, url, keep, &asked);
        if sent.as_ref().is_err_and(broke_before_the_head) {
            // Most likely a pooled keep-alive connection the server had closed just
            // as we reused it: a GET may be sent again (RFC 9110 §9.2.2), once, on a
            // new connection. A server that breaks every connection fails twice.
            sent = self.send(clients, url, keep, &asked);
        }
        let mut pause = Duration::from_millis(5);
        while sent.as_ref().is_err_and(out_of_descriptors)
            && started.elapsed() < DESCRIPTOR_PATIENCE
        {
            // No socket could be opened: nothing was sent, so wait for one and send.
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(250));
            sent = self.send(clients, url, keep, &asked);
        }
        outcome.answered = Instant::now();
        match sent {
            Ok(response) => {
                let fault = through.filter(|&(_, forwarded)| forwarded).and_then(|_| {
                    proxy::fault_of_response(response.status().as_u16(), response.headers())
                });
                if fault.is_some() {
                    // The proxy's own answer, not the origin's: dropped unread.
                    outcome.response = Some(response_meta(
                        response.status().as_u16(),
                        response.headers(),
                    ));
                    outcome.elapsed = started.elapsed();
                    clients.done(&origin(url), Keep::Nothing);
                    return (outcome, fault);
                }
                if let Some(jar) = &self.cookies {
                    jar.store_from(url, response.headers());
                }
                outcome.exchange = Some(exchange::record(
                    url,
                    asked.headers,
                    asked.credential.is_some(),
                    asked.cookie,
                    &response,
                ));
                let mut meta = response_meta(response.status().as_u16(), response.headers());
                meta.http_version = format!("{:?}", response.version());
                meta.tls_unverified = self.insecure && url.scheme() == "https";
                if let Some(error) = announced_too_large(&meta, max_body, truncate) {
                    // Not read at all: the connection is dropped, not drained.
                    outcome.response = Some(meta);
                    outcome.error = Some(error);
                    outcome.elapsed = started.elapsed();
                    clients.done(&origin(url), keep);
                    return (outcome, None);
                }
                let capacity = meta
                    .content_length
                    .unwrap_or(16 * 1024)
                    .min(max_body.min(1 << 20));
                outcome.body = Vec::with_capacity(usize::try_from(capacity).unwrap_or(0));
                outcome.response = Some(meta);
                let limit = max_body.saturating_add(u64::from(!truncate));
                if let Err(e) = response.take(limit).read_to_end(&mut outcome.body) {
                    outcome.error = Some(classify_io(&e));
                    outcome.body.clear();
                } else if outcome.body.len() as u64 > max_body {
                    outcome.error = Some(FetchError {
                        kind: ErrorKind::BodyTooLarge,
                        message: format!("body larger than {max_body} bytes (after decompression)"),
                    });
                    outcome.bytes = outcome.body.len() as u64;
                    outcome.body = Vec::new();
                }
                if outcome.error.is_none() {
                    outcome.bytes = outcome.body.len() as u64;
                }
            }
            Err(e) => {
                let error = classify(&e);
                let fault = through.and_then(|(proxy_host, _)| {
                    proxy::fault_of_error(&e, proxy_host, &error.message)
                });
                outcome.error = Some(error);
                if fault.is_some() {
                    outcome.elapsed = started.elapsed();
                    clients.done(&origin(url), keep);
                    return (outcome, fault);
                }
            }
        }
        outcome.elapsed = started.elapsed();
        clients.done(&origin(url), keep);
        (outcome, None)
    }

    /// Each `--proxy`'s requests and outages, and the hosts moved off a proxy that
    /// was out; `None` without a `--proxy` pool.
    pub fn proxy_reports(&self) -> Option<(Vec<ProxyReport>, u64)> {
        match &*self.routes {
            Routes::Direct(_) => None,
            Routes::Proxied(proxied) => Some((proxied.pool.reports(), proxied.pool.hosts_moved())),
        }
    }
}

/// How one fetch is made: the body limit, whether its connection is kept, and the
/// validators of a conditional request.
struct Way<'a> {
    limit: BodyLimit,
    keep: Keep,
    validators: Option<&'a Validators>,
}

/// What a conditional request sends (RFC 9110 §13.1): the stored `ETag` as
/// `If-None-Match` and the stored `Last-Modified` as `If-Modified-Since`. A value
/// that is not a valid header value is left out.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Validators {
    /// The `ETag` the stored response had.
    pub etag: Option<String>,
    /// The `Last-Modified` the stored response had.
    pub last_modified: Option<String>,
}

impl Validators {
    /// Whether there is anything to send.
    pub fn is_empty(&self) -> bool {
        self.etag.is_none() && self.last_modified.is_none()
    }

    /// `headers` with the conditional headers added, in the order they are sent.
    fn added_to(&self, headers: &HeaderMap) -> HeaderMap {
        let mut headers = headers.clone();
        let pairs = [
            (header::IF_NONE_MATCH, &self.etag),
            (header::IF_MODIFIED_SINCE, &self.last_modified),
        ];
        for (name, value) in pairs {
            let Some(value) = value.as_deref() else {
                continue;
            };
            if let Ok(value) = header::HeaderValue::from_str(value) {
                headers.insert(name, value);
            }
        }
        headers
    }
}

/// What a request carries besides its URL, looked up once for all its tries.
struct Asked<'a> {
    headers: &'a HeaderMap,
    credential: Option<Credential<'a>>,
    cookie: Option<&'a header::HeaderValue>,
}

impl FetchOutcome {
    /// An outcome with nothing in it yet, of a fetch started at `started`.
    fn started(started: Instant) -> FetchOutcome {
        FetchOutcome {
            response: None,
            exchange: None,
            body: Vec::new(),
            error: None,
            bytes: 0,
            elapsed: started.elapsed(),
            answered: started,
            proxy: None,
        }
    }

    /// An outcome with no response and this error, started at `started`.
    fn failed(started: Instant, kind: ErrorKind, message: String) -> FetchOutcome {
        FetchOutcome {
            error: Some(FetchError { kind, message }),
            answered: Instant::now(),
            ..FetchOutcome::started(started)
        }
    }
}

/// Whether requests to an http URL through `proxy` (masked) are forwarded by it
/// (an HTTP proxy), not tunnelled (SOCKS).
fn proxied_in_clear(proxy: &str) -> bool {
    proxy.starts_with("http://") || proxy.starts_with("https://")
}

/// Why a request found no proxy to go through.
fn no_proxy_left(failures: &[String], next_back: Option<Duration>, count: usize) -> String {
    let back = next_back.map_or(String::new(), |wait| {
        format!("; the first is back in {:.1} s", wait.as_secs_f64())
    });
    if failures.is_empty() {
        format!("every proxy of the {count} is out{back}")
    } else {
        format!("no proxy could carry it ({}){back}", failures.join("; "))
    }
}

/// The choice of `setting` given the environment's proxies: the environment's, to
/// hand to the client, or a pool with the hosts that go direct. Logged here.
fn proxies_to_use(
    setting: &ProxySetting,
    environment: EnvProxies,
) -> (Option<EnvProxies>, Option<(Vec<ProxyUrl>, NoProxyList)>) {
    match setting {
        ProxySetting::Environment { no_proxy } => {
            let environment = match no_proxy {
                Some(list) => environment.with_no_proxy(list.as_str()),
                None => environment,
            };
            for (variable, proxy) in environment.describe() {
                tracing::info!(
                    proxy,
                    "requests go through the proxy {variable} names (--resolve names excepted)"
                );
            }
            (Some(environment), None)
        }
        ProxySetting::Off => {
            if !environment.describe().is_empty() {
                tracing::info!("--proxy none: the environment's proxies are not used");
            }
            (None, None)
        }
        ProxySetting::Pool { proxies, no_proxy } => {
            let no_proxy = no_proxy
                .clone()
                .or_else(|| environment.no_proxy_variable()?.parse().ok())
                .unwrap_or_default();
            for proxy in proxies {
                tracing::info!(proxy = proxy.shown(), "requests go through this proxy pool");
            }
            if !no_proxy.is_empty() {
                tracing::info!(no_proxy = no_proxy.as_str(), "these hosts go direct");
            }
            (None, Some((proxies.clone(), no_proxy)))
        }
    }
}

/// The pool's key: scheme, host and port.
fn origin(url: &Url) -> String {
    url.origin().ascii_serialization()
}

/// A `Content-Length` over the limit refuses the body before a byte of it is read.
///
/// The header is the length on the wire; the client drops it when it decodes a
/// `Content-Encoding`, so a length still present is the length of the body we
/// would count.
fn announced_too_large(meta: &ResponseMeta, max_body: u64, truncate: bool) -> Option<FetchError> {
    let announced = meta
        .content_length
        .filter(|&len| len > max_body && !truncate)?;
    Some(FetchError {
        kind: ErrorKind::BodyTooLarge,
        message: format!(
            "Content-Length {announced} is over the body limit of {max_body} bytes; not read"
        ),
    })
}

impl Fetcher {
    fn send(
        &self,
        clients: &Pools,
        url: &Url,
        keep: Keep,
        asked: &Asked<'_>,
    ) -> reqwest::Result<reqwest::blocking::Response> {
        let mut request = clients
            .client(&origin(url), url.port_or_known_default())
            .get(url.clone())
            .headers(asked.headers.clone())
            .timeout(self.timeout);
        if keep == Keep::Nothing {
            request = request.header(header::CONNECTION, "close");
        }
        if let Some(cookie) = asked.cookie {
            request = request.header(header::COOKIE, cookie.clone());
        }
        match asked.credential {
            Some(Credential::Basic(user, password)) => request.basic_auth(user, password),
            Some(Credential::Bearer(token)) => request.bearer_auth(token),
            None => request,
        }
        .send()
    }
}

/// Whether the request failed for want of a file descriptor (the process's or the
/// system's limit): a state that passes, not a fault of the host.
fn out_of_descriptors(error: &reqwest::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(cause) = source {
        let errno = cause
            .downcast_ref::<std::io::Error>()
            .and_then(std::io::Error::raw_os_error);
        if matches!(errno, Some(libc::EMFILE | libc::ENFILE)) {
            return true;
        }
        source = cause.source();
    }
    false
}

/// Whether the connection broke (reset, closed) before a response head arrived.
fn broke_before_the_head(error: &reqwest::Error) -> bool {
    classify(error).kind == ErrorKind::Read
}

/// How much of a body [`Fetcher::fetch_with_limit`] accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyLimit {
    /// More than this many (decompressed) bytes is a `body-too-large` error.
    Refuse(u64),
    /// Keep the first this many bytes and stop reading: no error.
    Truncate(u64),
}

/// How long a `Retry-After` value asks to wait (RFC 9110 §10.2.3): a number of
/// seconds, or an HTTP-date (a date in the past means now). `None` if it is neither.
pub fn retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

fn response_meta(status: u16, headers: &HeaderMap) -> ResponseMeta {
    let text = |name: header::HeaderName| {
        headers
            .get(name)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).trim().to_owned())
    };
    ResponseMeta {
        status,
        content_type: text(header::CONTENT_TYPE),
        content_length: text(header::CONTENT_LENGTH).and_then(|v| v.parse().ok()),
        last_modified: text(header::LAST_MODIFIED),
        etag: text(header::ETAG),
        location: text(header::LOCATION),
        retry_after: text(header::RETRY_AFTER),
        x_robots_tag: all_values(headers, "x-robots-tag"),
        http_version: String::new(),
        tls_unverified: false,
    }
}

/// Every value of a header that may be repeated.
fn all_values(headers: &HeaderMap, name: &str) -> Vec<String> {
    headers
        .get_all(name)
        .iter()
        .map(|v| String::from_utf8_lossy(v.as_bytes()).trim().to_owned())
        .collect()
}

/// Sorts a request error into a kind by looking through its source chain.
fn classify(error: &reqwest::Error) -> FetchError {
    let message = error_chain(error);
    let from_sources = kind_from_sources(error);
    let kind = if error.is_timeout() {
        ErrorKind::Timeout
    } else if error.is_connect() {
        // A name that did not resolve or a refused certificate says more than
        // "could not connect"; a reset while connecting is still a connect failure.
        match from_sources {
            Some(
                kind @ (ErrorKind::Dns
                | ErrorKind::Tls
                | ErrorKind::Timeout
                | ErrorKind::AddressRefused),
            ) => kind,
            _ => ErrorKind::Connect,
        }
    } else if let Some(kind) = from_sources {
        kind
    } else if error.is_body() || error.is_decode() {
        ErrorKind::Read
    } else if error.is_request() {
        ErrorKind::Protocol
    } else {
        ErrorKind::Other
    };
    FetchError { kind, message }
}

/// Errors while reading the body arrive as `io::Error`s wrapping reqwest's.
fn classify_io(error: &std::io::Error) -> FetchError {
    let inner = error
        .get_ref()
        .and_then(|e| e.downcast_ref::<reqwest::Error>());
    match inner {
        Some(e) if e.is_timeout() => FetchError {
            kind: ErrorKind::Timeout,
            message: error_chain(e),
        },
        _ if error.kind() == std::io::ErrorKind::TimedOut => FetchError {
            kind: ErrorKind::Timeout,
            message: error.to_string(),
        },
        _ => FetchError {
            kind: kind_from_sources(error).unwrap_or(ErrorKind::Read),
            message: error_chain(error),
        },
    }
}

/// The kind named by the first error in the chain that says what went wrong: a
/// failed name lookup, a TLS failure, hyper's verdict on the bytes it got (not HTTP:
/// `protocol`; a connection that ended early: `read`), or an I/O error's kind.
fn kind_from_sources(error: &(dyn std::error::Error + 'static)) -> Option<ErrorKind> {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = source {
        if e.is::<DnsFailure>() {
            return Some(ErrorKind::Dns);
        }
        if e.is::<AddressRefused>() {
            return Some(ErrorKind::AddressRefused);
        }
        if e.is::<rustls::Error>() {
            return Some(ErrorKind::Tls);
        }
        if let Some(hyper) = e.downcast_ref::<hyper::Error>() {
            if hyper.is_timeout() {
                return Some(ErrorKind::Timeout);
            }
            if hyper.is_parse() || hyper.is_parse_status() {
                return Some(ErrorKind::Protocol);
            }
            if hyper.is_incomplete_message() {
                return Some(ErrorKind::Read);
            }
        }
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            match io.kind() {
                std::io::ErrorKind::TimedOut => return Some(ErrorKind::Timeout),
                std::io::ErrorKind::ConnectionRefused => return Some(ErrorKind::Connect),
                std::io::ErrorKind::ConnectionReset
                | std::io::ErrorKind::ConnectionAborted
                | std::io::ErrorKind::BrokenPipe
                | std::io::ErrorKind::UnexpectedEof => return Some(ErrorKind::Read),
                _ => {}
            }
        }
        source = next_source(e);
    }
    None
}

/// The error `e` wraps. An `io::Error`'s `source()` skips the error it wraps (it
/// returns that error's source), so a TLS failure wrapped in two `io::Error`s, as
/// the client reports it, would be passed over; this returns the wrapped error.
fn next_source<'a>(
    e: &'a (dyn std::error::Error + 'static),
) -> Option<&'a (dyn std::error::Error + 'static)> {
    if let Some(inner) = e
        .downcast_ref::<std::io::Error>()
        .and_then(std::io::Error::get_ref)
    {
        return Some(inner);
    }
    e.source()
}

fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut message = error.to_string();
    let mut source = next_source(error);
    while let Some(e) = source {
        let text = e.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = next_source(e);
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_takes_seconds_and_http_dates() {
        let now = httpdate::parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT").unwrap();
        assert_eq!(retry_after(" 120 ", now), Some(Duration::from_secs(120)));
        assert_eq!(
            retry_after("Sun, 06 Nov 1994 08:50:07 GMT", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            retry_after("Sun, 06 Nov 1994 08:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(retry_after("soon", now), None);
        assert_eq!(retry_after("-5", now), None);
    }
}
