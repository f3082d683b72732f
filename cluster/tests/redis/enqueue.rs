//! Each URL is queued once, however many nodes submit it at once.

use crate::harness::{claim_when_free, config, enqueue_all, join, redis, take_all, urls};
use crawler_cluster::{Entry, Session};
use crawler_fixtures::RedisUrl;
use std::collections::BTreeSet;
use std::sync::{Arc, Barrier};

#[test]
fn eight_threads_submitting_the_same_urls_queue_each_once() {
    let Some(server) = redis() else { return };
    eight_threads_queue_each_url_once(&server);
}

/// Eight threads submit the same 1,000 URLs (of 40 hosts) at once, each in its own
/// order: every URL is found new by exactly one call and queued once.
pub fn eight_threads_queue_each_url_once(server: &impl RedisUrl) {
    let (crawl, mut session) = join(config(server, "shop", "n1"));
    let all = urls(40, 1000);
    let start = Arc::new(Barrier::new(8));
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let (crawl, start) = (crawl.clone(), start.clone());
            let mut mine = all.clone();
            // Each thread in its own order, so calls for the same partition overlap.
            mine.rotate_left(t * 125);
            std::thread::spawn(move || {
                let mut session = Session::open(&crawl).unwrap();
                start.wait();
                enqueue_all(&mut session, &mine)
            })
        })
        .collect();
    let new: usize = threads.into_iter().map(|t| t.join().unwrap()).sum();
    assert_eq!(new, 1000, "calls that found a URL new, over all threads");

    let mut queued = Vec::new();
    for p in 0..crawl.partitions() {
        let (lease, _) = claim_when_free(&mut session, p);
        queued.extend(take_all(&mut session, &lease));
    }
    assert_eq!(queued.len(), 1000, "entries queued");
    let distinct: BTreeSet<Vec<u8>> = queued.iter().map(|d| d.payload().to_vec()).collect();
    let expected: BTreeSet<Vec<u8>> = all.iter().map(|(_, u)| u.as_bytes().to_vec()).collect();
    assert_eq!(distinct, expected);
    let seen: u64 = (0..crawl.partitions())
        .map(|p| session.seen(p).unwrap())
        .sum();
    assert_eq!(seen, 1000);
}

#[test]
fn the_seen_set_grows_in_small_hashes_and_forgets_nothing() {
    let Some(server) = redis() else { return };
    let (crawl, mut session) = join(config(&server, "shop", "n1"));
    // One host, so all 20,000 URLs land in one partition and its buckets must split.
    let one_host: Vec<(String, String)> = (0..20_000)
        .map(|i| ("big.test".to_string(), format!("http://big.test/{i}")))
        .collect();
    assert_eq!(enqueue_all(&mut session, &one_host), 20_000);
    assert_eq!(
        enqueue_all(&mut session, &one_host),
        0,
        "every URL is remembered"
    );
    let p = crawl.partition_of("big.test");
    let again = Entry::new("http://big.test/77", "x");
    assert_eq!(
        session.enqueue(p, &[again.clone(), again]).unwrap(),
        [false, false]
    );
    assert_eq!(session.queued(p).unwrap(), 20_000);

    // Every bucket is still a listpack (a few bytes a field), none a hash table.
    let client = redis::Client::open(server.url()).unwrap();
    let mut conn = client.get_connection().unwrap();
    let pattern = format!("{}:*", crawl.keys().partition(p).seen());
    let buckets: Vec<String> = redis::cmd("KEYS").arg(&pattern).query(&mut conn).unwrap();
    assert!(buckets.len() >= 20_000 / 64, "{} buckets", buckets.len());
    for bucket in &buckets {
        let encoding: String = redis::cmd("OBJECT")
            .arg("ENCODING")
            .arg(bucket)
            .query(&mut conn)
            .unwrap();
        assert_eq!(encoding, "listpack", "{bucket}");
    }
}
