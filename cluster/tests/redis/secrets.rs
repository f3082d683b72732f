//! A password given in the cluster URL never appears in an error.

use crate::harness::{config, join, redis_with};
use crawler_cluster::{ClusterConfig, ClusterError, Crawl, Session};
use std::collections::BTreeMap;

const PASSWORD: &str = "pw-Zq81xKv";

fn assert_hidden(err: &ClusterError) {
    for text in [err.to_string(), format!("{err:?}")] {
        assert!(!text.contains(PASSWORD), "the password leaked: {text}");
        assert!(!text.contains("wrong-pw"), "the password leaked: {text}");
    }
}

#[test]
fn the_password_never_appears_in_an_error() {
    let Some(mut server) = redis_with(Some(PASSWORD)) else {
        return;
    };

    // Nothing listening: the error names the URL, masked.
    let url = format!("redis://:{PASSWORD}@127.0.0.1:1/0");
    let err = Crawl::open(
        ClusterConfig::new(&url, "shop").unwrap(),
        &BTreeMap::new(),
        &[],
    )
    .unwrap_err();
    assert!(matches!(err, ClusterError::Unreachable { .. }), "{err:?}");
    assert!(
        err.to_string().contains("redis://***@127.0.0.1:1/0"),
        "{err}"
    );
    assert_hidden(&err);

    // A wrong password.
    let wrong = format!("redis://:wrong-pw@127.0.0.1:{}/0", server.port());
    let err = Crawl::open(
        ClusterConfig::new(&wrong, "shop").unwrap(),
        &BTreeMap::new(),
        &[],
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .contains(&format!("127.0.0.1:{}", server.port())),
        "{err}"
    );
    assert_hidden(&err);

    // The right one works; then the server goes away mid-session.
    let (crawl, mut session) = join(config(&server, "shop", "n1"));
    assert!(format!("{:?}", crawl.config()).contains("***"));
    session.heartbeat().unwrap();
    server.kill();
    let err = session.heartbeat().unwrap_err();
    assert_hidden(&err);
    let err = Session::open(&crawl).err().unwrap();
    assert!(matches!(err, ClusterError::Unreachable { .. }), "{err:?}");
    assert_hidden(&err);
}
