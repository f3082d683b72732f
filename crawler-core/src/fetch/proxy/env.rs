//! The proxies the environment names (`ALL_PROXY`, `HTTP_PROXY`, `HTTPS_PROXY`,
//! `NO_PROXY`, or their lowercase forms), made explicit.
//!
//! `reqwest` would read them itself, silently. Here they are read once, logged with
//! any credentials masked, and given to the client with the names `--resolve` maps
//! added to `NO_PROXY`: a request through a proxy is resolved by the proxy, so a
//! mapped name would otherwise reach whatever the proxy's DNS says instead of the
//! address it was mapped to. As with `reqwest`, `HTTP_PROXY` is ignored when
//! `REQUEST_METHOD` is set (a CGI program cannot trust it).

use url::Url;

use super::super::resolver::ResolveRule;

/// The environment's proxy settings.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct EnvProxies {
    all: Option<String>,
    http: Option<String>,
    https: Option<String>,
    no: Option<String>,
}

impl EnvProxies {
    /// Reads the process's environment.
    pub(crate) fn from_env() -> EnvProxies {
        Self::from_vars(|name| std::env::var(name).ok())
    }

    fn from_vars(var: impl Fn(&str) -> Option<String>) -> EnvProxies {
        let first = |names: [&str; 2]| {
            names
                .into_iter()
                .find_map(|name| var(name).filter(|value| !value.trim().is_empty()))
        };
        let cgi = var("REQUEST_METHOD").is_some();
        EnvProxies {
            all: first(["ALL_PROXY", "all_proxy"]),
            http: first(["HTTP_PROXY", "http_proxy"]).filter(|_| !cgi),
            https: first(["HTTPS_PROXY", "https_proxy"]),
            no: first(["NO_PROXY", "no_proxy"]),
        }
    }

    /// These proxies with `list` (`--no-proxy`) instead of `NO_PROXY`.
    pub(crate) fn with_no_proxy(self, list: &str) -> EnvProxies {
        EnvProxies {
            no: Some(list.to_owned()),
            ..self
        }
    }

    /// `NO_PROXY` (or `no_proxy`), as set.
    pub(crate) fn no_proxy_variable(&self) -> Option<&str> {
        self.no.as_deref()
    }

    /// `(variable, proxy with credentials masked)` for each proxy in use.
    pub(crate) fn describe(&self) -> Vec<(&'static str, String)> {
        [
            ("ALL_PROXY", &self.all),
            ("HTTP_PROXY", &self.http),
            ("HTTPS_PROXY", &self.https),
        ]
        .into_iter()
        .filter_map(|(name, value)| Some((name, masked(value.as_deref()?))))
        .collect()
    }

    /// The host of each proxy in use, lowercased: the address rules leave them be.
    pub(crate) fn hosts(&self) -> Vec<String> {
        [&self.all, &self.http, &self.https]
            .into_iter()
            .filter_map(|proxy| {
                parsed(proxy.as_deref()?)?
                    .host_str()
                    .map(str::to_ascii_lowercase)
            })
            .collect()
    }

    /// The `NO_PROXY` list with every name `resolve` maps added (a wildcard rule's
    /// `*.suffix` as `.suffix`, which also covers the suffix itself).
    fn no_proxy(&self, resolve: &[ResolveRule]) -> String {
        let mut names: Vec<&str> = self.no.iter().map(String::as_str).collect();
        names.extend(
            resolve
                .iter()
                .map(|rule| rule.host.strip_prefix('*').unwrap_or(&rule.host)),
        );
        names.join(",")
    }

    /// Gives the client these proxies, and no others: `reqwest`'s own reading of
    /// the environment is turned off.
    pub(crate) fn apply(
        &self,
        builder: reqwest::blocking::ClientBuilder,
        resolve: &[ResolveRule],
    ) -> reqwest::Result<reqwest::blocking::ClientBuilder> {
        let mut builder = builder.no_proxy();
        let no_proxy = reqwest::NoProxy::from_string(&self.no_proxy(resolve));
        if let Some(proxy) = &self.http {
            builder = builder.proxy(reqwest::Proxy::http(proxy)?.no_proxy(no_proxy.clone()));
        }
        if let Some(proxy) = &self.https {
            builder = builder.proxy(reqwest::Proxy::https(proxy)?.no_proxy(no_proxy.clone()));
        }
        if let Some(proxy) = &self.all {
            builder = builder.proxy(reqwest::Proxy::all(proxy)?.no_proxy(no_proxy));
        }
        Ok(builder)
    }
}

/// A proxy as a URL: as written, or with `http://` before it (as `reqwest` reads it).
fn parsed(proxy: &str) -> Option<Url> {
    Url::parse(proxy)
        .ok()
        .filter(|url| url.has_host())
        .or_else(|| Url::parse(&format!("http://{proxy}")).ok())
}

/// A proxy URL with its user name and password replaced by `***`.
fn masked(proxy: &str) -> String {
    let Some(mut url) = parsed(proxy) else {
        return "(not a URL)".to_owned();
    };
    if !url.username().is_empty() || url.password().is_some() {
        let _ = url.set_username("***");
        let _ = url.set_password(None);
    }
    url.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from(vars: &[(&str, &str)]) -> EnvProxies {
        EnvProxies::from_vars(|name| {
            vars.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.to_string())
        })
    }

    #[test]
    fn uppercase_wins_and_cgi_ignores_http_proxy() {
        let proxies = from(&[
            ("HTTP_PROXY", "http://a.test:1"),
            ("http_proxy", "http://b.test:1"),
            ("https_proxy", "c.test:3128"),
        ]);
        assert_eq!(proxies.http.as_deref(), Some("http://a.test:1"));
        assert_eq!(proxies.https.as_deref(), Some("c.test:3128"));
        let cgi = from(&[("HTTP_PROXY", "http://a.test:1"), ("REQUEST_METHOD", "GET")]);
        assert_eq!(cgi.http, None);
    }

    #[test]
    fn credentials_are_masked() {
        let proxies = from(&[
            ("HTTP_PROXY", "http://user:secret@proxy.test:3128"),
            ("ALL_PROXY", "socks5://proxy.test:1080"),
            ("HTTPS_PROXY", "me:pw@proxy.test:8080"),
        ]);
        let described = proxies.describe();
        assert_eq!(
            described,
            [
                ("ALL_PROXY", "socks5://proxy.test:1080".to_owned()),
                ("HTTP_PROXY", "http://***@proxy.test:3128/".to_owned()),
                ("HTTPS_PROXY", "http://***@proxy.test:8080/".to_owned()),
            ]
        );
    }

    #[test]
    fn the_proxies_hosts_are_named_for_the_address_rules() {
        let proxies = from(&[
            ("HTTP_PROXY", "http://user:pw@Proxy.Corp:3128"),
            ("HTTPS_PROXY", "10.0.0.8:3128"),
        ]);
        assert_eq!(proxies.hosts(), ["proxy.corp", "10.0.0.8"]);
    }

    #[test]
    fn resolved_names_bypass_the_proxy() {
        let proxies = from(&[("NO_PROXY", "internal.test")]);
        let rules: Vec<ResolveRule> = ["a.test:80:127.0.0.1", "*.b.test:80:127.0.0.1"]
            .iter()
            .map(|rule| rule.parse().unwrap())
            .collect();
        assert_eq!(proxies.no_proxy(&rules), "internal.test,a.test,.b.test");
    }
}
