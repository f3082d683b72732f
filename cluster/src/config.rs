//! [`ClusterConfig`]: where the cluster's Redis is, which crawl, which node.
//!
//! One plain struct with defaults ([`ClusterConfig::new`]) and one check
//! ([`ClusterConfig::validate`]), shared by whatever builds it (the CLI's flags, a
//! config file, an embedding program).

use crate::error::ClusterError;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// The default lease: a dead node's partitions pass to the living within about this.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(30);
/// How many times an entry is handed out before it goes to the dead-letter list.
pub const DEFAULT_MAX_DELIVERIES: u32 = 5;
/// The partition count a new crawl id gets (see the crate docs for why 64).
pub const DEFAULT_PARTITIONS: u32 = 64;
/// Limits on what can be stored in one byte ([`MAX_DELIVERIES_LIMIT`]) and what keeps
/// keys short.
pub const MAX_DELIVERIES_LIMIT: u32 = 250;
const MAX_PARTITIONS: u32 = 4096;
const MAX_NAME: usize = 100;

/// How a node reaches the cluster and who it is in it.
#[derive(Clone, PartialEq, Eq)]
pub struct ClusterConfig {
    /// `redis://[:password@]host[:port][/db]` or `rediss://` (TLS). Never printed: use
    /// [`ClusterConfig::masked_url`].
    pub url: String,
    /// The crawl's name; every key of the crawl starts `crawl:{crawl_id}:`.
    /// ASCII letters, digits, `.`, `_` and `-`.
    pub crawl_id: String,
    /// This node's name (default: the hostname, `-`, the pid). A node restarted with
    /// the same name takes its old partitions back at once instead of waiting out its
    /// own old leases.
    pub node: String,
    /// How long a partition's lease lasts without renewal (renew at a third of it).
    pub lease: Duration,
    /// Deliveries after which an entry is dead-lettered instead of handed out again.
    pub max_deliveries: u32,
    /// The partition count, used only when this node creates the crawl id; a node
    /// joining an existing crawl uses the stored one.
    pub partitions: u32,
    /// For `rediss://`: a PEM file of the certificates to trust instead of the
    /// system's roots (a private CA).
    pub tls_ca: Option<PathBuf>,
}

impl ClusterConfig {
    /// A configuration with the defaults, checked.
    pub fn new(url: &str, crawl_id: &str) -> Result<ClusterConfig, ClusterError> {
        let config = ClusterConfig {
            url: url.to_string(),
            crawl_id: crawl_id.to_string(),
            node: default_node(),
            lease: DEFAULT_LEASE,
            max_deliveries: DEFAULT_MAX_DELIVERIES,
            partitions: DEFAULT_PARTITIONS,
            tls_ca: None,
        };
        config.validate()?;
        Ok(config)
    }

    /// The URL with any password (and user name) replaced by `***`: the only form of
    /// it that appears in errors and logs.
    pub fn masked_url(&self) -> String {
        mask_url(&self.url)
    }

    /// Checks every field; the error names the field (or the masked URL).
    pub fn validate(&self) -> Result<(), ClusterError> {
        let parsed = url::Url::parse(&self.url).map_err(|e| ClusterError::BadUrl {
            url: self.masked_url(),
            reason: e.to_string(),
        })?;
        if !matches!(parsed.scheme(), "redis" | "rediss") {
            return Err(ClusterError::BadUrl {
                url: self.masked_url(),
                reason: "the scheme must be redis:// or rediss:// (TLS)".into(),
            });
        }
        if parsed.host_str().is_none_or(str::is_empty) {
            return Err(ClusterError::BadUrl {
                url: self.masked_url(),
                reason: "no host".into(),
            });
        }
        if self.tls_ca.is_some() && parsed.scheme() != "rediss" {
            return Err(ClusterError::BadConfig {
                name: "TLS CA",
                reason: format!("a CA file is for rediss:// URLs, not {}", self.masked_url()),
            });
        }
        check_name("crawl id", &self.crawl_id)?;
        check_name("node", &self.node)?;
        if self.lease < Duration::from_millis(100) || self.lease > Duration::from_secs(3600) {
            return Err(ClusterError::BadConfig {
                name: "lease",
                reason: format!("{:?} is outside 100 ms ..= 1 hour", self.lease),
            });
        }
        if !(1..=MAX_DELIVERIES_LIMIT).contains(&self.max_deliveries) {
            return Err(ClusterError::BadConfig {
                name: "max deliveries",
                reason: format!(
                    "{} is outside 1..={MAX_DELIVERIES_LIMIT}",
                    self.max_deliveries
                ),
            });
        }
        if !(1..=MAX_PARTITIONS).contains(&self.partitions) {
            return Err(ClusterError::BadConfig {
                name: "partitions",
                reason: format!("{} is outside 1..={MAX_PARTITIONS}", self.partitions),
            });
        }
        Ok(())
    }
}

/// Never shows the URL's password, even when asked to debug-print the config.
impl fmt::Debug for ClusterConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClusterConfig")
            .field("url", &self.masked_url())
            .field("crawl_id", &self.crawl_id)
            .field("node", &self.node)
            .field("lease", &self.lease)
            .field("max_deliveries", &self.max_deliveries)
            .field("partitions", &self.partitions)
            .field("tls_ca", &self.tls_ca)
            .finish()
    }
}

/// `scheme://***@host...` when the URL has credentials; a URL that does not parse
/// keeps only its scheme, so nothing after `://` can leak.
pub fn mask_url(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(mut parsed) => {
            if parsed.password().is_some() || !parsed.username().is_empty() {
                // Both setters only fail for URLs that cannot have credentials, which
                // these have.
                let _ = parsed.set_username("");
                let _ = parsed.set_password(None);
                let text = parsed.to_string();
                let scheme_end = parsed.scheme().len() + 3;
                format!("{}***@{}", &text[..scheme_end], &text[scheme_end..])
            } else {
                parsed.to_string()
            }
        }
        Err(_) => match raw.split_once("://") {
            Some((scheme, _)) if scheme.chars().all(|c| c.is_ascii_alphanumeric()) => {
                format!("{scheme}://***")
            }
            _ => "***".to_string(),
        },
    }
}

fn check_name(name: &'static str, value: &str) -> Result<(), ClusterError> {
    let ok = !value.is_empty()
        && value.len() <= MAX_NAME
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(ClusterError::BadConfig {
            name,
            reason: format!(
                "{value:?}: 1 to {MAX_NAME} ASCII letters, digits, '.', '_' or '-' (braces and colons would break the key layout)"
            ),
        })
    }
}

/// The hostname plus the pid: unique per process, recognisable in `stats`.
fn default_node() -> String {
    let host = ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .find_map(|path| std::fs::read_to_string(path).ok())
        .map(|text| {
            text.trim()
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                        c
                    } else {
                        '_'
                    }
                })
                .collect::<String>()
        })
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "node".to_string());
    let mut host = host;
    host.truncate(MAX_NAME - 12);
    format!("{host}-{}", std::process::id())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_never_shows() {
        for raw in [
            "redis://:hunter2@example.org:6379/0",
            "rediss://user:hunter2@example.org/1",
            "redis://hunter2@example.org",
            "redis://:hunter2@[::1",
        ] {
            let masked = mask_url(raw);
            assert!(!masked.contains("hunter2"), "{raw} -> {masked}");
            assert!(masked.contains("***"), "{raw} -> {masked}");
        }
        assert_eq!(mask_url("redis://h:1/0"), "redis://h:1/0");
        assert_eq!(
            mask_url("redis://:pw@h:1/0"),
            "redis://***@h:1/0",
            "the host stays readable"
        );
    }

    #[test]
    fn bad_values_are_named() {
        let mut config = ClusterConfig::new("redis://127.0.0.1/0", "shop").unwrap();
        assert!(config.node.contains(&std::process::id().to_string()));
        config.crawl_id = "a{b}".into();
        assert!(config
            .validate()
            .unwrap_err()
            .to_string()
            .contains("crawl id"));
        config.crawl_id = "shop".into();
        config.max_deliveries = 0;
        assert!(config
            .validate()
            .unwrap_err()
            .to_string()
            .contains("max deliveries"));
        let err = ClusterConfig::new("http://:pw@h/", "shop")
            .unwrap_err()
            .to_string();
        assert!(err.contains("redis://") && !err.contains("pw"), "{err}");
        let debug = format!("{:?}", ClusterConfig::new("redis://:pw@h/", "x").unwrap());
        assert!(!debug.contains("pw@"), "{debug}");
    }
}
