//! `crawler stats --cluster URL --crawl-id ID`: a shared crawl's totals, every node
//! together, read from its Redis (nothing is written there).

use std::io::Write;
use std::process::ExitCode;

use crawler_core::cluster::{ClusterConfig, ClusterError, Crawl, Session};

use crate::Failure;

pub fn run(url: &str, crawl_id: &str, json: bool) -> Result<ExitCode, Failure> {
    let usage = |e: ClusterError| Failure::Usage(format!("--cluster: {e}"));
    let mut config = ClusterConfig::new(url, crawl_id).map_err(usage)?;
    // Named as a reader: it never takes a lease or counts as a live node.
    config.node = format!("stats-{}", std::process::id());
    let masked = config.masked_url();
    let Some(crawl) = Crawl::existing(config).map_err(cluster_error)? else {
        return Err(Failure::Usage(format!(
            "no crawl {crawl_id} on {masked}: no node has started it"
        )));
    };
    let totals = Session::open(&crawl)
        .and_then(|mut session| session.totals())
        .map_err(cluster_error)?;
    let mut out = std::io::stdout().lock();
    if json {
        let mut value = serde_json::to_value(&totals)?;
        if let Some(object) = value.as_object_mut() {
            object.insert("crawl_id".into(), crawl_id.into());
        }
        writeln!(out, "{value}")?;
        return Ok(ExitCode::SUCCESS);
    }
    let state = if totals.finished {
        "finished"
    } else {
        "running"
    };
    writeln!(out, "crawl {crawl_id} on {masked}: {state}")?;
    writeln!(
        out,
        "pages {}  queued {}  in flight {}  dead letters {}  seen {}",
        totals.pages, totals.queued, totals.in_flight, totals.dead_letters, totals.seen
    )?;
    writeln!(
        out,
        "partitions {} ({} leased)",
        totals.partitions, totals.leased
    )?;
    for node in &totals.nodes {
        let live = if node.live { "live" } else { "gone" };
        writeln!(
            out,
            "  node {} ({live}): {} pages, {} partitions",
            node.name,
            node.pages,
            node.partitions.len()
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

fn cluster_error(error: ClusterError) -> Failure {
    match error {
        ClusterError::BadUrl { .. } | ClusterError::BadConfig { .. } => {
            Failure::Usage(format!("--cluster: {error}"))
        }
        other => Failure::Error(other.into()),
    }
}
