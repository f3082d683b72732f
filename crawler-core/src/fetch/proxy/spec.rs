//! What `--proxy` and `--no-proxy` say, parsed: [`ProxyUrl`] (one proxy, shown with
//! its credentials masked), [`NoProxyList`] (curl's syntax) and [`ProxySetting`],
//! the choice among the environment's proxies, none, and a pool.

use std::net::IpAddr;

use ipnet::IpNet;
use url::Url;

/// The schemes a proxy may have: an HTTP proxy (spoken to in plain text or over
/// TLS), or SOCKS5 with names resolved here (`socks5`) or by the proxy (`socks5h`).
pub const PROXY_SCHEMES: [&str; 4] = ["http", "https", "socks5", "socks5h"];

/// Proxies a pool holds at most.
pub const MAX_PROXIES: usize = 64;

/// One proxy of `--proxy`: a URL with a scheme of [`PROXY_SCHEMES`], a host, maybe a
/// port and credentials. `Debug` and [`ProxyUrl::shown`] mask the credentials.
#[derive(Clone, PartialEq, Eq)]
pub struct ProxyUrl {
    url: Url,
    shown: String,
}

impl std::fmt::Debug for ProxyUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.shown)
    }
}

/// A `--proxy` value that is not a usable proxy URL. Its text masks credentials.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{shown} is not a proxy URL: {reason}")]
pub struct ProxyUrlError {
    /// The value, its credentials masked.
    pub shown: String,
    /// Why.
    pub reason: String,
}

impl std::str::FromStr for ProxyUrl {
    type Err = ProxyUrlError;

    /// Parses `scheme://[user:password@]host[:port]`; without a scheme, `http://`
    /// is meant (as curl reads it).
    fn from_str(text: &str) -> Result<ProxyUrl, ProxyUrlError> {
        let refuse = |reason: String| ProxyUrlError {
            shown: masked_text(text),
            reason,
        };
        let trimmed = text.trim();
        let spelled = if trimmed.contains("://") {
            trimmed.to_owned()
        } else {
            format!("http://{trimmed}")
        };
        let url = Url::parse(&spelled).map_err(|e| refuse(e.to_string()))?;
        if !PROXY_SCHEMES.contains(&url.scheme()) {
            return Err(refuse(format!(
                "the scheme {} is not one of {}",
                url.scheme(),
                PROXY_SCHEMES.join(", ")
            )));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(refuse("it names no host".into()));
        }
        if !matches!(url.path(), "" | "/") || url.query().is_some() || url.fragment().is_some() {
            return Err(refuse(
                "a proxy URL has no path, query or fragment: scheme://[user:password@]host[:port]"
                    .into(),
            ));
        }
        Ok(ProxyUrl {
            shown: shown(&url),
            url,
        })
    }
}

impl ProxyUrl {
    /// `scheme://host:port`, with `***@` before the host when the URL holds
    /// credentials: what logs, records and messages name.
    pub fn shown(&self) -> &str {
        &self.shown
    }

    /// The URL, credentials included: for the client only.
    pub(crate) fn url(&self) -> &Url {
        &self.url
    }

    /// The proxy's host, lowercased (an IPv6 address without brackets).
    pub fn host(&self) -> String {
        self.url
            .host_str()
            .unwrap_or_default()
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_ascii_lowercase()
    }

    /// Whether the proxy resolves the names it is given (HTTP proxies and
    /// `socks5h`); through `socks5`, names are resolved here.
    pub fn resolves_names(&self) -> bool {
        self.url.scheme() != "socks5"
    }
}

/// `scheme://[***@]host:port` of a parsed proxy URL.
fn shown(url: &Url) -> String {
    let credentials = if url.username().is_empty() && url.password().is_none() {
        ""
    } else {
        "***@"
    };
    let host = url.host_str().unwrap_or_default();
    match url.port_or_known_default() {
        Some(port) => format!("{}://{credentials}{host}:{port}", url.scheme()),
        None => format!("{}://{credentials}{host}", url.scheme()),
    }
}

/// A proxy as written, its user information (anything before an `@` in the
/// authority) replaced by `***`, for texts that may not parse as URLs.
pub(crate) fn masked_text(text: &str) -> String {
    let text = text.trim();
    let (scheme, rest) = match text.find("://") {
        Some(at) => text.split_at(at + 3),
        None => ("", text),
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{scheme}***{}", &rest[at..]),
        None => text.to_owned(),
    }
}

/// Hosts that go direct, in curl's `--noproxy` syntax: a comma-separated list of
/// names (each matching itself and the names under it; a leading dot is ignored),
/// addresses and CIDR networks, or `*` for every host.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NoProxyList {
    /// The list as given (for the environment's proxies, which `reqwest` matches).
    text: String,
    every_host: bool,
    names: Vec<String>,
    networks: Vec<IpNet>,
}

/// A `--no-proxy` entry that is no name, address or network.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{entry:?} is not a host name, an address or a CIDR network (a list is comma-separated: .example.com,10.0.0.0/8,localhost)")]
pub struct NoProxyError {
    /// The entry.
    pub entry: String,
}

impl std::str::FromStr for NoProxyList {
    type Err = NoProxyError;

    fn from_str(text: &str) -> Result<NoProxyList, NoProxyError> {
        let mut list = NoProxyList {
            text: text.to_owned(),
            ..NoProxyList::default()
        };
        for entry in text.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let refuse = || NoProxyError {
                entry: entry.to_owned(),
            };
            if entry == "*" {
                list.every_host = true;
                continue;
            }
            let unbracketed = entry.trim_start_matches('[').trim_end_matches(']');
            let network = unbracketed
                .parse::<IpNet>()
                .or_else(|_| unbracketed.parse::<IpAddr>().map(IpNet::from));
            if let Ok(network) = network {
                list.networks.push(network.trunc());
                continue;
            }
            let name = entry.trim_start_matches('.').to_ascii_lowercase();
            let valid = !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'));
            if !valid {
                return Err(refuse());
            }
            list.names.push(name);
        }
        Ok(list)
    }
}

impl NoProxyList {
    /// The list as given.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether requests to `host` (a URL's host: a name, or an address, IPv6 in
    /// brackets) go direct.
    pub fn matches(&self, host: &str) -> bool {
        if self.every_host {
            return true;
        }
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        if let Ok(addr) = bare.parse::<IpAddr>() {
            return self.networks.iter().any(|net| net.contains(&addr));
        }
        let host = host.trim_end_matches('.');
        self.names.iter().any(|name| {
            host.eq_ignore_ascii_case(name)
                || host.len() > name.len()
                    && host.as_bytes()[host.len() - name.len() - 1] == b'.'
                    && host[host.len() - name.len()..].eq_ignore_ascii_case(name)
        })
    }

    /// Whether the list is empty (no host goes direct).
    pub fn is_empty(&self) -> bool {
        !self.every_host && self.names.is_empty() && self.networks.is_empty()
    }
}

/// Which proxies requests go through.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProxySetting {
    /// The environment's (`HTTP_PROXY`, `HTTPS_PROXY`, `ALL_PROXY`, `NO_PROXY`, or
    /// their lowercase forms), with `no_proxy` instead of `NO_PROXY` when given.
    Environment {
        /// `--no-proxy`, which overrides `NO_PROXY`.
        no_proxy: Option<NoProxyList>,
    },
    /// None: every request goes direct, whatever the environment says.
    Off,
    /// These proxies, as a pool (each host through one of them); hosts `no_proxy`
    /// matches go direct.
    Pool {
        /// One or more proxies, at most [`MAX_PROXIES`].
        proxies: Vec<ProxyUrl>,
        /// The hosts that go direct: `--no-proxy`, else (`None`) `NO_PROXY`.
        no_proxy: Option<NoProxyList>,
    },
}

impl Default for ProxySetting {
    fn default() -> ProxySetting {
        ProxySetting::Environment { no_proxy: None }
    }
}

/// A `--proxy` or `--no-proxy` value the crawl cannot use.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProxySettingError {
    /// A `--proxy` value.
    #[error(transparent)]
    Proxy(#[from] ProxyUrlError),
    /// `none` among other proxies.
    #[error("none (no proxy at all) cannot be given with proxies")]
    NoneAmongProxies,
    /// More than [`MAX_PROXIES`].
    #[error("{0} proxies given; a pool holds at most {MAX_PROXIES}")]
    TooMany(usize),
    /// A `--no-proxy` entry.
    #[error(transparent)]
    NoProxy(#[from] NoProxyError),
}

impl ProxySettingError {
    /// The flag the error is about: `proxy` or `no-proxy`.
    pub fn setting(&self) -> &'static str {
        match self {
            ProxySettingError::NoProxy(_) => "no-proxy",
            _ => "proxy",
        }
    }
}

impl ProxySetting {
    /// The setting `--proxy` values (`none`, or proxy URLs) and `--no-proxy` make.
    pub fn parse(
        proxies: &[String],
        no_proxy: Option<&str>,
    ) -> Result<ProxySetting, ProxySettingError> {
        let no_proxy = no_proxy.map(str::parse::<NoProxyList>).transpose()?;
        let none = proxies
            .iter()
            .any(|p| p.trim().eq_ignore_ascii_case("none"));
        if none && proxies.len() > 1 {
            return Err(ProxySettingError::NoneAmongProxies);
        }
        if none {
            return Ok(ProxySetting::Off);
        }
        if proxies.is_empty() {
            return Ok(ProxySetting::Environment { no_proxy });
        }
        if proxies.len() > MAX_PROXIES {
            return Err(ProxySettingError::TooMany(proxies.len()));
        }
        let proxies = proxies
            .iter()
            .map(|p| p.parse::<ProxyUrl>())
            .collect::<Result<Vec<_>, _>>()?;
        Ok(ProxySetting::Pool { proxies, no_proxy })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxies_parse_with_their_credentials_masked() {
        let proxy: ProxyUrl = "http://user:secret@Proxy.Test:3128".parse().unwrap();
        assert_eq!(proxy.shown(), "http://***@proxy.test:3128");
        assert_eq!(format!("{proxy:?}"), "http://***@proxy.test:3128");
        assert_eq!(proxy.host(), "proxy.test");
        let bare: ProxyUrl = "10.0.0.8:3128".parse().unwrap();
        assert_eq!(bare.shown(), "http://10.0.0.8:3128");
        let socks: ProxyUrl = "socks5h://[::1]:1080".parse().unwrap();
        assert_eq!(socks.shown(), "socks5h://[::1]:1080");
        assert_eq!(socks.host(), "::1");
        assert!(socks.resolves_names());
        assert!(!"socks5://h:1".parse::<ProxyUrl>().unwrap().resolves_names());
    }

    #[test]
    fn bad_proxies_are_refused_without_their_credentials() {
        for bad in [
            "ftp://user:secret@x",
            "http://",
            "http://user:secret@",
            "socks4://x:1",
            "http://x:1/path",
        ] {
            let error = bad.parse::<ProxyUrl>().unwrap_err();
            assert!(!error.to_string().contains("secret"), "{error}");
        }
        let error = "ftp://user:secret@x".parse::<ProxyUrl>().unwrap_err();
        assert_eq!(error.shown, "ftp://***@x");
        assert!(error.reason.contains("ftp"), "{error}");
    }

    #[test]
    fn no_proxy_lists_match_as_curl_does() {
        let list: NoProxyList = " .example.com, localhost,10.0.0.0/8,::1".parse().unwrap();
        assert!(list.matches("example.com"));
        assert!(list.matches("www.Example.com"));
        assert!(!list.matches("notexample.com"));
        assert!(list.matches("localhost"));
        assert!(list.matches("10.1.2.3"));
        assert!(!list.matches("11.1.2.3"));
        assert!(list.matches("[::1]"));
        assert!("*".parse::<NoProxyList>().unwrap().matches("any.test"));
        assert!("".parse::<NoProxyList>().unwrap().is_empty());
        let error = "ok.test,bad host".parse::<NoProxyList>().unwrap_err();
        assert_eq!(error.entry, "bad host");
        assert!("10.0.0.0/99".parse::<NoProxyList>().is_err());
    }

    #[test]
    fn the_setting_is_the_environment_none_or_a_pool() {
        let strings = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            ProxySetting::parse(&[], None),
            Ok(ProxySetting::Environment { no_proxy: None })
        );
        assert_eq!(
            ProxySetting::parse(&strings(&["none"]), None),
            Ok(ProxySetting::Off)
        );
        assert_eq!(
            ProxySetting::parse(&strings(&["none", "http://p:1"]), None),
            Err(ProxySettingError::NoneAmongProxies)
        );
        let ProxySetting::Pool { proxies, no_proxy } =
            ProxySetting::parse(&strings(&["http://p:1", "socks5://q:2"]), Some("a.test")).unwrap()
        else {
            panic!("a pool");
        };
        assert_eq!(proxies.len(), 2);
        assert!(no_proxy.is_some_and(|list| list.matches("a.test")));
        let error = ProxySetting::parse(&strings(&["p:1"]), Some("a b")).unwrap_err();
        assert_eq!(error.setting(), "no-proxy");
    }
}
