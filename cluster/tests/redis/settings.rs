//! Creating and joining a crawl id: settings conflicts, overrides, separate crawls.

use crate::harness::{claim_when_free, config, enqueue_all, join, redis, urls};
use crawler_cluster::{ClusterError, Crawl};
use std::collections::BTreeMap;

fn settings(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn a_conflicting_setting_is_named_unless_overridden() {
    let Some(server) = redis() else { return };
    let mut first = config(&server, "shop", "n1");
    first.partitions = 16;
    let created = Crawl::open(
        first,
        &settings(&[("max-depth", "3"), ("delay-ms", "500")]),
        &[],
    )
    .unwrap();
    assert!(created.created());

    let mut second = config(&server, "shop", "n2");
    second.partitions = 64;
    let err = Crawl::open(
        second.clone(),
        &settings(&[("max-depth", "5"), ("delay-ms", "500")]),
        &[],
    )
    .unwrap_err();
    match &err {
        ClusterError::SettingConflict {
            name,
            stored,
            given,
            ..
        } => {
            assert_eq!(
                (name.as_str(), stored.as_str(), given.as_str()),
                ("max-depth", "3", "5")
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(err.to_string().contains("max-depth"), "{err}");

    // A joiner gets the crawl's partition count and settings, not its own.
    let joined = Crawl::open(second.clone(), &settings(&[("delay-ms", "500")]), &[]).unwrap();
    assert!(!joined.created());
    assert_eq!(joined.partitions(), 16);
    assert_eq!(
        joined.settings(),
        &settings(&[("delay-ms", "500"), ("max-depth", "3")])
    );

    // An override replaces the stored value for those who join later.
    let overridden = Crawl::open(
        second.clone(),
        &settings(&[("max-depth", "5")]),
        &["max-depth"],
    )
    .unwrap();
    assert_eq!(overridden.settings()["max-depth"], "5");
    let late = Crawl::open(second, &settings(&[("max-depth", "3")]), &[]).unwrap_err();
    assert!(
        matches!(late, ClusterError::SettingConflict { ref stored, .. } if stored == "5"),
        "{late}"
    );
}

#[test]
fn two_crawl_ids_on_one_redis_never_see_each_other() {
    let Some(server) = redis() else { return };
    let (shop, mut a) = join(config(&server, "shop", "n1"));
    let (news, mut b) = join(config(&server, "news", "n1"));
    let some = urls(10, 200);
    assert_eq!(enqueue_all(&mut a, &some), 200);
    assert_eq!(
        enqueue_all(&mut b, &some),
        200,
        "news has seen none of shop's URLs"
    );
    let p = shop.partition_of("h1.test");
    let (lease, _) = claim_when_free(&mut a, p);
    // The same node name holds the same partition number in both crawls.
    let (other, _) = claim_when_free(&mut b, news.partition_of("h1.test"));
    assert_eq!((lease.epoch, other.epoch), (1, 1));
    let taken = a
        .take(&lease, 3, std::time::Duration::from_secs(60))
        .unwrap();
    a.ack(&lease, &taken.deliveries).unwrap();
    let (shop_totals, news_totals) = (a.totals().unwrap(), b.totals().unwrap());
    assert_eq!((shop_totals.pages, news_totals.pages), (3, 0));
    assert_eq!((shop_totals.queued, news_totals.queued), (197, 200));
    assert_eq!((shop_totals.seen, news_totals.seen), (200, 200));
    assert!(!shop_totals.finished && !news_totals.finished);
}

#[test]
fn scope_keys_added_by_one_node_are_read_by_another_from_where_it_stopped() {
    let Some(server) = redis() else { return };
    let (_, mut seeder) = join(config(&server, "shop", "n1"));
    let (_, mut joiner) = join(config(&server, "shop", "n2"));
    let (_, mut stranger) = join(config(&server, "other", "n3"));
    assert!(joiner.scope_keys_from(0).unwrap().is_empty());

    let first: Vec<String> = (0..25_000).map(|i| format!("h{i}.test")).collect();
    seeder.add_scope_keys(&first).unwrap();
    let mut read = Vec::new();
    loop {
        let more = joiner.scope_keys_from(read.len() as u64).unwrap();
        if more.is_empty() {
            break;
        }
        read.extend(more);
    }
    assert_eq!(
        read, first,
        "every key, in order, across reads of at most 10,000"
    );

    seeder.add_scope_keys(&["late.test".to_string()]).unwrap();
    assert_eq!(
        joiner.scope_keys_from(read.len() as u64).unwrap(),
        vec!["late.test".to_string()]
    );
    assert!(
        stranger.scope_keys_from(0).unwrap().is_empty(),
        "another crawl id has its own scope"
    );
}

#[test]
fn reading_a_crawl_that_does_not_exist_creates_nothing() {
    let Some(server) = redis() else { return };
    assert!(Crawl::existing(config(&server, "nothing", "reader"))
        .unwrap()
        .is_none());
    let (created, _) = join(config(&server, "shop", "n1"));
    let read = Crawl::existing(config(&server, "shop", "reader"))
        .unwrap()
        .expect("the crawl exists");
    assert_eq!(read.partitions(), created.partitions());
    assert!(!read.created());
    assert!(Crawl::existing(config(&server, "nothing", "reader"))
        .unwrap()
        .is_none());
}
