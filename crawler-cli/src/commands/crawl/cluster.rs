//! `crawl --cluster`: joining a crawl shared through Redis.
//!
//! The flags make a `ClusterConfig`; the engine's `join_cluster` stores or checks
//! the crawl-wide settings. A setting counts as given as on a resume (a flag or a
//! config key set it, or it differs from the default); one not given is taken from
//! the crawl.

use std::collections::BTreeSet;

use crawler_core::cluster::{ClusterConfig, ClusterError, Crawl};
use crawler_core::{CrawlConfig, CrawlError};

use super::resume::as_object;
use crate::args::ClusterArgs;
use crate::Failure;

/// The configuration to crawl with and the crawl joined, or `config` as it is
/// without `--cluster`.
pub fn join(
    config: CrawlConfig,
    args: &ClusterArgs,
    given: &BTreeSet<String>,
) -> Result<(CrawlConfig, Option<Crawl>), Failure> {
    let Some(url) = &args.url else {
        return Ok((config, None));
    };
    let Some(crawl_id) = &args.crawl_id else {
        return Err(Failure::Usage(
            "--cluster needs --crawl-id: the name every node of the crawl gives".into(),
        ));
    };
    let mut cluster = ClusterConfig::new(url, crawl_id).map_err(|e| usage(&e))?;
    if let Some(node) = &args.node {
        cluster.node = node.clone();
    }
    if let Some(lease) = args.lease {
        cluster.lease = lease.0;
    }
    if let Some(max) = args.max_deliveries {
        cluster.max_deliveries = max;
    }
    cluster.validate().map_err(|e| usage(&e))?;
    let defaults = as_object(&CrawlConfig::default());
    let now = as_object(&config);
    let given: BTreeSet<String> = (now.iter())
        .filter(|(key, value)| given.contains(*key) || defaults.get(*key) != Some(*value))
        .map(|(key, _)| key.clone())
        .collect();
    match crawler_core::join_cluster(config, cluster, Some(&given)) {
        Ok((config, crawl)) => Ok((config, Some(crawl))),
        Err(CrawlError::Cluster(error)) => Err(match error {
            ClusterError::SettingConflict {
                crawl_id,
                name,
                stored,
                given,
            } => Failure::Usage(format!(
                "--{name} {given} conflicts with crawl {crawl_id}, which was started with --{name} {stored}: give the same, or leave it out to take the crawl's"
            )),
            ClusterError::BadUrl { .. } | ClusterError::BadConfig { .. } => usage(&error),
            other => Failure::Error(other.into()),
        }),
        Err(other) => Err(Failure::Error(other.into())),
    }
}

fn usage(error: &ClusterError) -> Failure {
    Failure::Usage(format!("--cluster: {error}"))
}
