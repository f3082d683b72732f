//! SURT keys (Sort-friendly URI Reordering Transform), the sort key of CDXJ indexes
//! and of Common Crawl's `url_surtkey` column: `http://www.Example.com:8080/a/?b=2&a=1`
//! becomes `com,example:8080)/a?a=1&b=2`.
//!
//! Canonicalized as the Python `surt` package does by default (which pywb uses to look
//! URLs up): scheme and credentials dropped, host labels reversed, a leading `www.`
//! (or `www2.` ...) dropped, the scheme's default port dropped, a trailing slash
//! dropped from a non-empty path, query arguments sorted, the fragment dropped, and
//! all of it lowercased. Session ids are not stripped. The tests check keys against
//! that package.

use url::Url;

/// The SURT key of `url` (an absolute URL); `None` when it does not parse or has no
/// host.
pub fn surt(url: &str) -> Option<String> {
    let parsed = Url::parse(url).ok()?;
    let host = parsed.host_str()?.to_ascii_lowercase();
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let mut key = String::with_capacity(url.len());
    // Addresses too are split at dots and reversed, as the `surt` package does.
    let labels: Vec<&str> = host.trim_end_matches('.').split('.').collect();
    let labels = match labels.split_last() {
        Some((_, rest)) if !rest.is_empty() && is_www(labels[0]) => &labels[1..],
        _ => &labels[..],
    };
    for (i, label) in labels.iter().rev().enumerate() {
        if i > 0 {
            key.push(',');
        }
        key.push_str(label);
    }
    // `port()` is `None` for the scheme's default port.
    if let Some(port) = parsed.port() {
        key.push_str(&format!(":{port}"));
    }
    key.push(')');
    let path = parsed.path().to_lowercase();
    match path.strip_suffix('/') {
        Some(trimmed) if !trimmed.is_empty() => key.push_str(trimmed),
        _ => key.push_str(&path),
    }
    if let Some(query) = parsed.query().filter(|q| !q.is_empty()) {
        let query = query.to_lowercase();
        let mut args: Vec<&str> = query.split('&').collect();
        args.sort_unstable();
        key.push('?');
        key.push_str(&args.join("&"));
    }
    Some(key)
}

/// `www`, `www2`, `www13`...: the labels the `surt` package drops.
fn is_www(label: &str) -> bool {
    label
        .strip_prefix("www")
        .is_some_and(|rest| rest.bytes().all(|b| b.is_ascii_digit()))
}

/// The registered domain of `host` (its public suffix and one label more), by the
/// public suffix list; `None` for an address, or a host that is itself a suffix.
#[cfg(feature = "parquet")]
pub fn registered_domain(host: &str) -> Option<&str> {
    if host.starts_with('[') || host.parse::<std::net::IpAddr>().is_ok() {
        return None;
    }
    psl::domain_str(host)
}

/// The public suffix of `host` (`com`, `co.uk`); `None` for an address.
#[cfg(feature = "parquet")]
pub fn public_suffix(host: &str) -> Option<&str> {
    if host.starts_with('[') || host.parse::<std::net::IpAddr>().is_ok() {
        return None;
    }
    psl::suffix_str(host)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_are_reversed_and_www_dropped() {
        assert_eq!(
            surt("http://www.Example.com/").as_deref(),
            Some("com,example)/")
        );
        assert_eq!(
            surt("https://www2.a.example.co.uk/x").as_deref(),
            Some("uk,co,example,a)/x")
        );
        assert_eq!(surt("http://www.com/").as_deref(), Some("com)/"));
        assert_eq!(surt("http://wwwx.test/").as_deref(), Some("test,wwwx)/"));
    }

    #[test]
    fn ports_paths_and_queries_are_canonical() {
        assert_eq!(
            surt("http://h0.test:8080/A/b/?y=2&x=1#frag").as_deref(),
            Some("test,h0:8080)/a/b?x=1&y=2")
        );
        assert_eq!(
            surt("https://example.com:443/?").as_deref(),
            Some("com,example)/")
        );
        assert_eq!(
            surt("http://127.0.0.1:81/p").as_deref(),
            Some("1,0,0,127:81)/p")
        );
        assert_eq!(surt("http://[::1]/").as_deref(), Some("::1)/"));
        assert_eq!(surt("not a url"), None);
    }

    #[test]
    #[cfg(feature = "parquet")]
    fn registered_domains_follow_the_public_suffix_list() {
        assert_eq!(
            registered_domain("a.b.example.co.uk"),
            Some("example.co.uk")
        );
        assert_eq!(registered_domain("h0.test"), Some("h0.test"));
        assert_eq!(registered_domain("127.0.0.1"), None);
        assert_eq!(registered_domain("co.uk"), None);
        assert_eq!(public_suffix("a.example.co.uk"), Some("co.uk"));
    }
}
