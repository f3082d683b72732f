//! Joining a cluster crawl: the crawl-wide settings, stored by the node that created
//! the crawl id and taken by every node that joins it.
//!
//! Only settings that must agree across nodes are shared ([`SHARED_SETTINGS`]: scope,
//! depth, politeness, robots.txt, what is fetched and kept); a node's own resources
//! (workers, store, cache, proxies, rendering tabs) stay its own. A node states the
//! shared settings it was *given*; the first node stores them, a later node takes the
//! stored value of each setting it was not given and gets
//! [`ClusterError::SettingConflict`] for one it was given differently.

use std::collections::{BTreeMap, BTreeSet};

use crawler_cluster::{ClusterConfig, ClusterError, Crawl};
use serde_json::Value;

use crate::config::CrawlConfig;
use crate::crawl_error::CrawlError;

/// The settings every node of a crawl must share, by their `CrawlConfig` field names.
pub const SHARED_SETTINGS: &[&str] = &[
    "per_host_concurrency",
    "per_host_rate",
    "delay_factor",
    "min_delay",
    "max_delay",
    "scope",
    "allow",
    "deny",
    "prefer",
    "avoid",
    "max_links_per_page",
    "max_depth",
    "max_pages_per_host",
    "max_sitemap_urls",
    "max_queued_per_host",
    "user_agent",
    "max_body",
    "bodies",
    "max_redirects",
    "ignore_robots",
    "robots_agent",
    "robots_ttl",
    "max_crawl_delay",
    "retries",
    "retry_backoff",
    "max_backoff",
    "park_after",
    "sitemaps",
    "follow_nofollow",
    "requisites",
    "max_url_len",
    "max_segment_repeats",
    "render",
    "render_resources",
    "hosts",
];

/// Opens (creates or joins) the cluster crawl for `config`: stores or checks the
/// settings in `given` (all shared ones when `None`), and returns `config` with the
/// crawl's stored value of each shared setting it was not given.
pub fn join_cluster(
    config: CrawlConfig,
    cluster: ClusterConfig,
    given: Option<&BTreeSet<String>>,
) -> Result<(CrawlConfig, Crawl), CrawlError> {
    let mut fields = as_object(&config);
    let is_given = |name: &str| given.is_none_or(|given| given.contains(name));
    let mut settings = BTreeMap::new();
    for &name in SHARED_SETTINGS {
        if let Some(value) = fields.get(name).filter(|_| is_given(name)) {
            settings.insert(flag_name(name), value.to_string());
        }
    }
    let crawl = Crawl::open(cluster, &settings, &[])?;
    for &name in SHARED_SETTINGS.iter().filter(|name| !is_given(name)) {
        let Some(stored) = crawl.settings().get(&flag_name(name)) else {
            continue;
        };
        let value = serde_json::from_str(stored).map_err(|e| ClusterError::Corrupt {
            url: crawl.config().masked_url(),
            key: crawl.keys().settings(),
            what: format!("setting {}: {e}", flag_name(name)),
        })?;
        fields.insert(name.to_owned(), value);
    }
    let config =
        serde_json::from_value(Value::Object(fields)).map_err(|e| ClusterError::Corrupt {
            url: crawl.config().masked_url(),
            key: crawl.keys().settings(),
            what: format!("the stored settings do not read back: {e}"),
        })?;
    Ok((config, crawl))
}

/// A setting as the command line names it: `max-depth`.
fn flag_name(field: &str) -> String {
    field.replace('_', "-")
}

/// The configuration's fields (it always serializes to an object: plain data with
/// string keys).
fn as_object(config: &CrawlConfig) -> serde_json::Map<String, Value> {
    match serde_json::to_value(config) {
        Ok(Value::Object(map)) => map,
        _ => serde_json::Map::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shared_setting_is_a_field_of_the_configuration() {
        let fields = as_object(&CrawlConfig::default());
        for name in SHARED_SETTINGS {
            assert!(
                fields.contains_key(*name),
                "{name} is not a CrawlConfig field"
            );
        }
    }
}
