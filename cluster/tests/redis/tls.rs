//! `rediss://`: the crawl over TLS, the server's certificate checked.

use crate::harness::{available, enqueue_all, urls};
use crawler_cluster::{ClusterConfig, ClusterError, Crawl, Session};
use crawler_fixtures::RedisServer;
use std::collections::BTreeMap;

#[test]
fn a_crawl_over_tls_checks_the_servers_certificate() {
    let Some(server) = available(RedisServer::start_tls()) else {
        return;
    };
    assert!(server.url().starts_with("rediss://"));
    let mut config = ClusterConfig::new(&server.url(), "shop").unwrap();

    // The system's roots do not know the test CA: the handshake is refused.
    let err = Crawl::open(config.clone(), &BTreeMap::new(), &[]).unwrap_err();
    assert!(matches!(err, ClusterError::Unreachable { .. }), "{err:?}");
    assert!(err.to_string().contains("certificate"), "{err}");

    config.tls_ca = server.tls_ca();
    let crawl = Crawl::open(config, &BTreeMap::new(), &[]).unwrap();
    let mut session = Session::open(&crawl).unwrap();
    assert_eq!(enqueue_all(&mut session, &urls(5, 50)), 50);
    assert_eq!(session.totals().unwrap().queued, 50);
}
