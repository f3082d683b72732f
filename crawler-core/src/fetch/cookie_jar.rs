//! The crawl's cookie jar: one per crawl, as a browser keeps one per profile.
//!
//! The RFC 6265 rules (domain and path matching, expiry by `Max-Age` or `Expires`,
//! `Secure` only over https) are `cookie_store`'s. Two are added here:
//! - public suffixes (RFC 6265 §5.3 step 5), from `psl`'s built-in list: a cookie whose
//!   `Domain` is a public suffix (`co.uk`, or an unlisted top-level name like `test`)
//!   is refused, unless the suffix is the very host that set it (then it is that
//!   host's alone);
//! - bounds (RFC 6265 §6.1): at most [`MAX_PER_DOMAIN`] cookies per domain and
//!   [`MAX_COOKIES`] in all; past either, the least recently used goes.
//!
//! Cookies are kept by *site*: the registrable domain of the host that set them (the
//! host itself for an address or a name without one). A cookie's domain is never
//! wider than its site, so a request looks at its own host's site only, whatever the
//! number of sites the jar holds.
//!
//! Cookie values are credentials: nothing here logs one, and `Debug` shows counts only.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use cookie_store::{Cookie, CookieDomain, CookieStore, RawCookie, StoreAction};
use reqwest::header::{HeaderMap, HeaderValue, SET_COOKIE};
use url::{Host, Url};

/// Cookies kept per domain at most (RFC 6265 §6.1 asks for at least 50).
pub const MAX_PER_DOMAIN: usize = 50;

/// Cookies kept in all at most (RFC 6265 §6.1 asks for at least 3,000).
pub const MAX_COOKIES: usize = 3_000;

/// The cookies of a crawl, shared by every worker. Its lock is held around one
/// lookup or one response's `Set-Cookie` lines, never during a fetch.
pub struct CookieJar {
    jar: Mutex<Jar>,
    /// Cookies held: a request skips the lock while it is 0.
    held: AtomicUsize,
    /// The jar changed since [`CookieJar::snapshot`] last took it.
    changed: AtomicBool,
}

/// Where a cookie is in its site's store.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Key {
    site: String,
    domain: String,
    path: String,
    name: String,
}

#[derive(Default)]
struct Jar {
    sites: HashMap<String, CookieStore>,
    /// Every cookie held, with the tick it was last set or sent at.
    used: HashMap<Key, u64>,
    /// The same, oldest use first: what goes when the jar is full.
    by_use: BTreeMap<u64, Key>,
    clock: u64,
}

/// Why a cookie was not taken into the jar.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CookieRefused {
    /// Its `Domain` is a public suffix other than the host that set it.
    #[error("its domain {0} is a public suffix")]
    PublicSuffix(String),
    /// What `cookie_store` refused: a domain the host is not in, a bad domain.
    #[error("{0}")]
    Rules(String),
    /// It had expired already (and removed nothing).
    #[error("it has expired")]
    Expired,
}

impl Default for CookieJar {
    fn default() -> CookieJar {
        CookieJar {
            jar: Mutex::new(Jar::default()),
            held: AtomicUsize::new(0),
            changed: AtomicBool::new(false),
        }
    }
}

impl CookieJar {
    /// An empty jar.
    pub fn new() -> CookieJar {
        CookieJar::default()
    }

    /// The jar a [`CookieJar::snapshot`] saved: cookies expired since are left out,
    /// and so is a line that cannot be read (counted in the second value).
    pub fn restore(saved: &[u8]) -> (CookieJar, usize) {
        let mut unreadable = 0;
        let mut order: Vec<Key> = Vec::new();
        let mut by_site: HashMap<String, Vec<Cookie<'static>>> = HashMap::new();
        for line in saved.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            match serde_json::from_slice::<Cookie<'static>>(line) {
                Ok(cookie) if cookie.is_expired() => {}
                Ok(cookie) => match cookie.domain.as_cow().map(|d| site_of(&d)) {
                    Some(site) => {
                        order.push(key_of(&site, &cookie));
                        by_site.entry(site).or_default().push(cookie);
                    }
                    None => unreadable += 1,
                },
                Err(_) => unreadable += 1,
            }
        }
        let jar = CookieJar::new();
        {
            let mut inner = jar.lock();
            for (site, cookies) in by_site {
                // A saved cookie passed the rules when it was set: it goes in as it is.
                if let Ok(store) =
                    CookieStore::from_cookies(cookies.into_iter().map(Ok::<_, ()>), true)
                {
                    inner.sites.insert(site, store);
                }
            }
            for key in order {
                inner.touch(key);
            }
            inner.evict_beyond_bounds(None);
            jar.held.store(inner.used.len(), Ordering::Release);
        }
        (jar, unreadable)
    }

    /// Every cookie, oldest use first, one JSON object a line (real values: this is
    /// what a resumed crawl reads back), if the jar changed since the last snapshot.
    pub fn snapshot(&self) -> Option<Vec<u8>> {
        if !self.changed.swap(false, Ordering::AcqRel) {
            return None;
        }
        let jar = self.lock();
        let mut out = Vec::new();
        for key in jar.by_use.values() {
            if let Some(cookie) = jar.get(key).filter(|c| !c.is_expired()) {
                if serde_json::to_writer(&mut out, cookie).is_ok() {
                    out.push(b'\n');
                }
            }
        }
        Some(out)
    }

    /// Marks the jar changed again (a snapshot of it could not be saved).
    pub fn mark_unsaved(&self) {
        self.changed.store(true, Ordering::Release);
    }

    /// Whether the jar changed since the last [`CookieJar::snapshot`].
    pub fn changed(&self) -> bool {
        self.changed.load(Ordering::Acquire)
    }

    /// Cookies held (expired ones included until they are swept).
    pub fn len(&self) -> usize {
        self.held.load(Ordering::Acquire)
    }

    /// Whether the jar holds no cookie.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The `Cookie` header for a request of `url`: the cookies whose domain, path
    /// and `Secure` flag match it, longest path first (RFC 6265 §5.4).
    pub fn header_for(&self, url: &Url) -> Option<HeaderValue> {
        if self.is_empty() {
            return None;
        }
        let site = site_of(url.host_str()?);
        let mut jar = self.lock();
        let store = jar.sites.get(&site)?;
        let mut matching = store.matches(url);
        if matching.is_empty() {
            return None;
        }
        matching.sort_by_key(|c| std::cmp::Reverse(String::from(&c.path).len()));
        let header = matching
            .iter()
            .map(|c| format!("{}={}", c.name(), c.value()))
            .collect::<Vec<_>>()
            .join("; ");
        let keys: Vec<Key> = matching.iter().map(|c| key_of(&site, c)).collect();
        for key in keys {
            jar.touch(key);
        }
        HeaderValue::from_str(&header).ok()
    }

    /// Takes the `Set-Cookie` lines of a response to a request of `url` into the jar.
    /// Returns how many were taken (a cookie that expires one counts).
    pub fn store_from(&self, url: &Url, headers: &HeaderMap) -> usize {
        let mut taken = 0;
        for value in headers.get_all(SET_COOKIE) {
            let Ok(text) = std::str::from_utf8(value.as_bytes()) else {
                tracing::debug!(url = %url, "a Set-Cookie that is not text is ignored");
                continue;
            };
            let raw = match RawCookie::parse(text.to_owned()) {
                Ok(raw) => raw,
                Err(error) => {
                    tracing::debug!(url = %url, %error, "a Set-Cookie that does not parse is ignored");
                    continue;
                }
            };
            let name = raw.name().to_owned();
            match self.insert(&raw, url) {
                Ok(()) => {
                    taken += 1;
                    tracing::debug!(url = %url, cookie = name, "cookie stored");
                }
                Err(CookieRefused::Expired) => {}
                Err(refused) => {
                    tracing::debug!(url = %url, cookie = name, reason = %refused, "cookie refused");
                }
            }
        }
        taken
    }

    /// Takes one cookie, as set by a response to `url`, into the jar.
    pub fn insert(&self, raw: &RawCookie<'_>, url: &Url) -> Result<(), CookieRefused> {
        let mut cookie = Cookie::try_from_raw_cookie(raw, url)
            .map_err(|e| CookieRefused::Rules(e.to_string()))?
            .into_owned();
        if let CookieDomain::Suffix(domain) = &cookie.domain {
            if is_public_suffix(domain) {
                if url.host_str() != Some(domain.as_str()) {
                    return Err(CookieRefused::PublicSuffix(domain.clone()));
                }
                cookie.domain = CookieDomain::host_only(url)
                    .map_err(|e| CookieRefused::Rules(e.to_string()))?;
            }
        }
        let host = url
            .host_str()
            .ok_or_else(|| CookieRefused::Rules("the URL has no host".into()))?;
        let site = site_of(host);
        let key = key_of(&site, &cookie);
        let mut jar = self.lock();
        let action = jar
            .sites
            .entry(site.clone())
            .or_default()
            .insert(cookie, url);
        let result = match action {
            Ok(StoreAction::Inserted | StoreAction::UpdatedExisting) => {
                jar.touch(key.clone());
                jar.sweep_expired(&site);
                jar.evict_beyond_bounds(Some(&key));
                Ok(())
            }
            Ok(StoreAction::ExpiredExisting) => {
                jar.remove(&key);
                Ok(())
            }
            Err(cookie_store::CookieError::Expired) => Err(CookieRefused::Expired),
            Err(error) => Err(CookieRefused::Rules(error.to_string())),
        };
        if jar
            .sites
            .get(&site)
            .is_some_and(|s| s.iter_any().next().is_none())
        {
            jar.sites.remove(&site);
        }
        self.held.store(jar.used.len(), Ordering::Release);
        if result.is_ok() {
            self.changed.store(true, Ordering::Release);
        }
        result
    }

    fn lock(&self) -> MutexGuard<'_, Jar> {
        // The jar's maps are consistent between statements; a panic elsewhere
        // cannot leave them half-changed in a way that matters.
        self.jar.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Jar {
    fn get(&self, key: &Key) -> Option<&Cookie<'static>> {
        self.sites
            .get(&key.site)?
            .get_any(&key.domain, &key.path, &key.name)
    }

    fn touch(&mut self, key: Key) {
        self.clock += 1;
        if let Some(old) = self.used.insert(key.clone(), self.clock) {
            self.by_use.remove(&old);
        }
        self.by_use.insert(self.clock, key);
    }

    fn remove(&mut self, key: &Key) {
        if let Some(store) = self.sites.get_mut(&key.site) {
            store.remove(&key.domain, &key.path, &key.name);
        }
        if let Some(tick) = self.used.remove(key) {
            self.by_use.remove(&tick);
        }
    }

    /// Drops the expired cookies of one site.
    fn sweep_expired(&mut self, site: &str) {
        let expired: Vec<Key> = match self.sites.get(site) {
            Some(store) => store
                .iter_any()
                .filter(|c| c.is_expired())
                .map(|c| key_of(site, c))
                .collect(),
            None => return,
        };
        for key in &expired {
            self.remove(key);
        }
    }

    /// Removes the least recently used cookies of `added`'s domain beyond
    /// [`MAX_PER_DOMAIN`] (every domain when `None`), then of the whole jar beyond
    /// [`MAX_COOKIES`].
    fn evict_beyond_bounds(&mut self, added: Option<&Key>) {
        // A new cookie's domain is looked at in its site's store alone: a few cookies,
        // not the whole jar.
        let domains: Vec<(String, String)> = match added {
            Some(key) => vec![(key.site.clone(), key.domain.clone())],
            None => {
                let mut all: Vec<(String, String)> = self
                    .used
                    .keys()
                    .map(|k| (k.site.clone(), k.domain.clone()))
                    .collect();
                all.sort_unstable();
                all.dedup();
                all
            }
        };
        let mut evicted: Vec<Key> = Vec::new();
        for (site, domain) in domains {
            let Some(store) = self.sites.get(&site) else {
                continue;
            };
            let mut cookies: Vec<(u64, Key)> = store
                .iter_any()
                .map(|c| key_of(&site, c))
                .filter(|key| key.domain == domain)
                .map(|key| (self.used.get(&key).copied().unwrap_or(0), key))
                .collect();
            if cookies.len() > MAX_PER_DOMAIN {
                cookies.sort_unstable_by_key(|&(tick, _)| tick);
                let over = cookies.len() - MAX_PER_DOMAIN;
                evicted.extend(cookies.drain(..over).map(|(_, key)| key));
            }
        }
        for key in &evicted {
            self.remove(key);
        }
        while self.used.len() > MAX_COOKIES {
            let Some((_, key)) = self.by_use.pop_first() else {
                break;
            };
            self.used.remove(&key);
            if let Some(store) = self.sites.get_mut(&key.site) {
                store.remove(&key.domain, &key.path, &key.name);
            }
            evicted.push(key);
        }
        for key in &evicted {
            if self
                .sites
                .get(&key.site)
                .is_some_and(|s| s.iter_any().next().is_none())
            {
                self.sites.remove(&key.site);
            }
        }
        if !evicted.is_empty() {
            tracing::debug!(evicted = evicted.len(), "cookies evicted: the jar is full");
        }
    }
}

fn key_of(site: &str, cookie: &Cookie<'_>) -> Key {
    Key {
        site: site.to_owned(),
        domain: cookie
            .domain
            .as_cow()
            .map(|d| d.into_owned())
            .unwrap_or_default(),
        path: String::from(&cookie.path),
        name: cookie.name().to_owned(),
    }
}

/// The site a host's cookies are kept under: its registrable domain, or the host
/// itself for an address or a name that has none.
fn site_of(host: &str) -> String {
    let host = host.trim_end_matches('.');
    if matches!(Host::parse(host), Ok(Host::Ipv4(_) | Host::Ipv6(_))) {
        return host.to_owned();
    }
    psl::domain_str(host).unwrap_or(host).to_owned()
}

/// Whether `domain` is a public suffix: listed, or a top-level name no list knows
/// (the list's default rule), so `test` and `example` are, as `com` and `co.uk` are.
pub(crate) fn is_public_suffix(domain: &str) -> bool {
    let domain = domain.trim_end_matches('.');
    psl::suffix_str(domain).is_some_and(|suffix| suffix.eq_ignore_ascii_case(domain))
}

impl fmt::Debug for CookieJar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CookieJar")
            .field("cookies", &self.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> Url {
        Url::parse(text).unwrap()
    }

    fn set(jar: &CookieJar, at: &str, lines: &[&str]) -> usize {
        let mut headers = HeaderMap::new();
        for line in lines {
            headers.append(SET_COOKIE, HeaderValue::from_str(line).unwrap());
        }
        jar.store_from(&url(at), &headers)
    }

    fn sent(jar: &CookieJar, at: &str) -> Option<String> {
        jar.header_for(&url(at))
            .map(|v| v.to_str().unwrap().to_owned())
    }

    #[test]
    fn a_cookie_goes_back_to_its_host_and_path_only() {
        let jar = CookieJar::new();
        assert_eq!(set(&jar, "http://a.test/login", &["sid=1; Path=/"]), 1);
        assert_eq!(sent(&jar, "http://a.test/page").as_deref(), Some("sid=1"));
        assert_eq!(sent(&jar, "http://b.test/page"), None);
        // Host-only: not to a subdomain either.
        assert_eq!(sent(&jar, "http://www.a.test/"), None);
        set(&jar, "http://a.test/app/x", &["deep=2"]);
        assert_eq!(sent(&jar, "http://a.test/other"), Some("sid=1".into()));
        assert_eq!(
            sent(&jar, "http://a.test/app/y").as_deref(),
            Some("deep=2; sid=1")
        );
    }

    #[test]
    fn a_domain_cookie_reaches_subdomains_but_no_other_site() {
        let jar = CookieJar::new();
        assert_eq!(set(&jar, "http://www.a.test/", &["d=1; Domain=a.test"]), 1);
        assert_eq!(sent(&jar, "http://shop.a.test/").as_deref(), Some("d=1"));
        assert_eq!(sent(&jar, "http://a.test/").as_deref(), Some("d=1"));
        assert_eq!(sent(&jar, "http://xa.test/"), None);
        // A host cannot set one for a domain it is not in.
        assert_eq!(set(&jar, "http://www.a.test/", &["x=1; Domain=b.test"]), 0);
        assert_eq!(sent(&jar, "http://b.test/"), None);
    }

    #[test]
    fn public_suffixes_are_refused_unless_they_are_the_host() {
        let jar = CookieJar::new();
        assert_eq!(set(&jar, "http://a.test/", &["s=1; Domain=test"]), 0);
        assert_eq!(
            set(&jar, "http://shop.example.co.uk/", &["s=1; Domain=co.uk"]),
            0
        );
        assert_eq!(set(&jar, "http://a.test/", &["s=1; Domain=.test"]), 0);
        assert!(jar.is_empty());
        assert_eq!(sent(&jar, "http://b.test/"), None);
        // The suffix itself as a host: the cookie is that host's alone.
        assert_eq!(
            set(&jar, "http://localhost/", &["s=1; Domain=localhost"]),
            1
        );
        assert_eq!(sent(&jar, "http://localhost/").as_deref(), Some("s=1"));
        assert!(is_public_suffix("co.uk") && is_public_suffix("test"));
        assert!(!is_public_suffix("example.co.uk") && !is_public_suffix("a.test"));
    }

    #[test]
    fn secure_cookies_go_over_https_only_and_expired_ones_are_dropped() {
        let jar = CookieJar::new();
        set(&jar, "http://a.test/", &["s=1; Secure", "plain=2"]);
        assert_eq!(sent(&jar, "http://a.test/").as_deref(), Some("plain=2"));
        set(&jar, "https://a.test/", &["s=1; Secure"]);
        assert_eq!(sent(&jar, "http://a.test/").as_deref(), Some("plain=2"));
        let https = sent(&jar, "https://a.test/").unwrap();
        assert!(
            https.contains("s=1") && https.contains("plain=2"),
            "{https}"
        );
        set(&jar, "http://a.test/", &["plain=gone; Max-Age=0"]);
        assert_eq!(sent(&jar, "http://a.test/"), None);
        set(
            &jar,
            "http://a.test/",
            &["old=1; Expires=Thu, 01 Jan 1970 00:00:01 GMT"],
        );
        assert_eq!(sent(&jar, "http://a.test/"), None);
        assert_eq!(jar.len(), 1);
    }

    #[test]
    fn the_jar_is_bounded_per_domain_and_in_all_least_recently_used_first() {
        let jar = CookieJar::new();
        for i in 0..MAX_PER_DOMAIN {
            set(&jar, "http://a.test/", &[&format!("c{i}=v")]);
        }
        // c0 is set again, so c1 is the least recently used when a new one comes.
        set(&jar, "http://a.test/", &["c0=v"]);
        set(&jar, "http://a.test/", &["new=v"]);
        let header = sent(&jar, "http://a.test/").unwrap();
        assert_eq!(jar.len(), MAX_PER_DOMAIN);
        assert!(header.contains("c0=v") && header.contains("new=v"));
        assert!(!header.split("; ").any(|c| c == "c1=v"), "{header}");
        for host in 0..(MAX_COOKIES / 10 + 10) {
            let lines: Vec<String> = (0..10).map(|i| format!("k{i}=v")).collect();
            let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
            set(&jar, &format!("http://h{host}.test/"), &lines);
        }
        assert_eq!(jar.len(), MAX_COOKIES);
        // The oldest went first: a.test's cookies were set before any h*.test's.
        assert_eq!(sent(&jar, "http://a.test/"), None);
        assert!(sent(&jar, &format!("http://h{}.test/", MAX_COOKIES / 10 + 9)).is_some());
    }

    #[test]
    fn a_snapshot_restores_the_jar_with_its_session_cookies() {
        let jar = CookieJar::new();
        assert!(jar.snapshot().is_none());
        set(
            &jar,
            "http://a.test/",
            &["sid=abc; HttpOnly", "other=x; Domain=a.test"],
        );
        set(&jar, "https://127.0.0.1:8443/", &["ip=1; Secure"]);
        let saved = jar.snapshot().expect("changed");
        assert!(jar.snapshot().is_none(), "unchanged since");
        let (restored, unreadable) = CookieJar::restore(&saved);
        assert_eq!(unreadable, 0);
        assert_eq!(restored.len(), 3);
        let header = sent(&restored, "http://a.test/").unwrap();
        assert!(header.contains("sid=abc") && header.contains("other=x"));
        assert_eq!(
            sent(&restored, "http://www.a.test/").as_deref(),
            Some("other=x")
        );
        assert_eq!(
            sent(&restored, "https://127.0.0.1:8443/").as_deref(),
            Some("ip=1")
        );
        let mut damaged = saved.clone();
        damaged.extend_from_slice(b"{not json\n");
        assert_eq!(CookieJar::restore(&damaged).1, 1);
        assert_eq!(format!("{jar:?}"), "CookieJar { cookies: 3 }");
    }
}
