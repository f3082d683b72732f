//! An entry handed out more than max_deliveries times is dead-lettered, not retried.

use crate::harness::{claim_when_free, config, join, redis};
use crawler_cluster::Entry;
use std::time::Duration;

#[test]
fn an_entry_delivered_too_often_goes_to_the_dead_letter_list() {
    let Some(server) = redis() else { return };
    let mut config = config(&server, "shop", "n1");
    config.max_deliveries = 3;
    let (crawl, mut session) = join(config);
    let p = crawl.partition_of("h3.test");
    let (mut lease, _) = claim_when_free(&mut session, p);
    let entries = [
        Entry::new("http://h3.test/poison", "poison"),
        Entry::new("http://h3.test/ok", "ok"),
    ];
    session.enqueue(p, &entries).unwrap();
    let hold = Duration::from_secs(600);

    // Delivery 1 is retried, delivery 2 is lost with its owner (release + claim),
    // delivery 3 is retried; "ok" is acknowledged the first time.
    let first = session.take(&lease, 2, hold).unwrap();
    assert_eq!(first.deliveries.len(), 2);
    let (poison, ok): (Vec<_>, Vec<_>) = first
        .deliveries
        .into_iter()
        .partition(|d| d.payload() == b"poison");
    assert_eq!(session.ack(&lease, &ok).unwrap(), 1);
    assert_eq!(session.retry(&lease, &poison).unwrap(), 1);
    let second = session.take(&lease, 2, hold).unwrap().deliveries;
    assert_eq!((second.len(), second[0].deliveries()), (1, 2));
    session.release(&lease).unwrap();
    lease = claim_when_free(&mut session, p).0;
    let third = session.take(&lease, 2, hold).unwrap().deliveries;
    assert_eq!((third.len(), third[0].deliveries()), (1, 3));
    session.retry(&lease, &third).unwrap();

    let fourth = session.take(&lease, 2, hold).unwrap();
    assert!(fourth.deliveries.is_empty(), "handed out a fourth time");
    assert_eq!(fourth.dead.len(), 1);
    assert_eq!(fourth.dead[0].payload(), b"poison");
    let dead = session.dead_letters(p, 10).unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(
        (dead[0].payload(), dead[0].fingerprint()),
        (&b"poison"[..], entries[0].fingerprint)
    );
    assert_eq!(
        (session.queued(p).unwrap(), session.in_flight(p).unwrap()),
        (0, 0)
    );
    assert!(
        session.take(&lease, 2, hold).unwrap().dead.is_empty(),
        "dead-lettered twice"
    );
    let totals = session.totals().unwrap();
    assert_eq!((totals.dead_letters, totals.pages), (1, 1));
}

#[test]
fn overdue_entries_go_back_to_the_queue() {
    let Some(server) = redis() else { return };
    let (crawl, mut session) = join(config(&server, "shop", "n1"));
    let p = crawl.partition_of("h4.test");
    let (lease, _) = claim_when_free(&mut session, p);
    session
        .enqueue(
            p,
            &[
                Entry::new("http://h4.test/a", "a"),
                Entry::new("http://h4.test/b", "b"),
            ],
        )
        .unwrap();
    let long = session
        .take(&lease, 1, Duration::from_secs(600))
        .unwrap()
        .deliveries;
    let short = session
        .take(&lease, 1, Duration::from_millis(1))
        .unwrap()
        .deliveries;
    assert_eq!((long.len(), short.len()), (1, 1));
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while session.requeue_expired(&lease).unwrap() == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the 1 ms hold never passed"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(
        (session.queued(p).unwrap(), session.in_flight(p).unwrap()),
        (1, 1)
    );
    let again = session
        .take(&lease, 5, Duration::from_secs(600))
        .unwrap()
        .deliveries;
    assert_eq!(again.len(), 1);
    assert_eq!(
        (again[0].payload(), again[0].deliveries()),
        (short[0].payload(), 2)
    );
    assert_eq!(
        session.ack(&lease, &short).unwrap(),
        0,
        "the old delivery is no longer in flight"
    );
}
