//! Server-side request forgery: what a page can make the crawler connect to. Links
//! and redirects to link-local, private and denied addresses are recorded as
//! `address-refused` and never connected to, whether written as an address or as a
//! name that resolves to one; and under the default scope another port of a seed's
//! host is another origin.
//!
//! Every address these tests name that is not loopback is refused before any
//! connection; the loopback ones are listened on by the test, to see that nothing
//! arrives.

use std::net::{Ipv4Addr, TcpListener};

use crawler_tests::{FixtureServer, Scenario, WebConfig};

fn one_page_web() -> Scenario {
    Scenario::web(WebConfig {
        hosts: 1,
        pages: 1,
        ..WebConfig::default()
    })
}

/// The fixture page on `h0.test` linking to each of `targets`.
fn page_linking_to(server: &FixtureServer, targets: &[&str]) -> String {
    server.url(
        "h0.test",
        &format!("/_fixture/links-to?{}", targets.join("|")),
    )
}

/// Whether anything connected to `listener` (which must be non-blocking).
fn was_connected_to(listener: &TcpListener) -> bool {
    match listener.accept() {
        Ok(_) => true,
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => false,
        Err(e) => panic!("accept: {e}"),
    }
}

#[test]
fn links_and_redirects_to_metadata_link_local_and_private_addresses_are_refused() {
    let scenario = one_page_web();
    let server = scenario.server();
    let redirect = server.url(
        "h0.test",
        "/_fixture/redirect-to?http://169.254.169.254/latest/meta-data/iam",
    );
    let refused = [
        "http://169.254.169.254/latest/meta-data/",
        "http://[fe80::1]/",
        "http://10.0.0.1/admin",
        "http://[::ffff:169.254.169.254]/mapped",
        // Names, refused on the address they resolve to.
        "http://metadata.rebind/",
        "http://intranet.rebind/",
    ];
    let mut targets = refused.to_vec();
    targets.push(&redirect);
    let seed = page_linking_to(server, &targets);
    let crawled = scenario
        .seeds([seed.clone()])
        .flags(&[
            "--scope",
            "all",
            "--max-depth",
            "2",
            "--per-host-rate",
            "0",
            "--resolve",
            "metadata.rebind:80:169.254.169.254",
            "--resolve",
            "intranet.rebind:80:10.0.0.1",
        ])
        .crawl();
    assert_eq!(crawled.record(&seed)["status"], 200);
    assert_eq!(crawled.record(&redirect)["status"], 302);
    let canonical_mapped = "http://[::ffff:a9fe:a9fe]/mapped";
    let expected = refused
        .iter()
        .map(|url| {
            if url.ends_with("/mapped") {
                canonical_mapped
            } else {
                url
            }
        })
        .chain(["http://169.254.169.254/latest/meta-data/iam"]);
    for url in expected {
        let record = crawled.record(url);
        assert_eq!(record["error"], "address-refused", "{url}: {record}");
        assert!(record["status"].is_null(), "{url}: {record}");
    }
    let errors = &crawled.summary()["errors"];
    assert_eq!(errors["address-refused"], 7, "{errors}");
    // The rule that refused is said, for people.
    let message = &crawled.record("http://10.0.0.1/admin")["error_message"];
    assert!(
        message.as_str().is_some_and(|m| m.contains("private")),
        "{message}"
    );
    let listed = crawled.query("ls", &["--error", "address-refused"]);
    assert_eq!(listed.stdout().lines().count(), 7, "{}", listed.stdout());
}

#[test]
fn a_denied_loopback_address_is_never_connected_to_by_address_or_by_name() {
    // The seeds are on loopback, which opens loopback; --deny-address closes a part.
    let listener = TcpListener::bind((Ipv4Addr::new(127, 0, 0, 2), 0)).unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let literal = format!("http://127.0.0.2:{port}/literal");
    // A name the seeds' resolver maps onto the denied address: DNS rebinding's end.
    let name = format!("http://rebound.example:{port}/name");
    let scenario = one_page_web();
    let seed = page_linking_to(scenario.server(), &[&literal, &name]);
    let resolve = format!("rebound.example:{port}:127.0.0.2");
    let crawled = scenario
        .seeds([seed.clone()])
        .flags(&[
            "--scope",
            "all",
            "--per-host-rate",
            "0",
            "--resolve",
            &resolve,
            "--deny-address",
            "127.0.0.2/32",
        ])
        .crawl();
    assert_eq!(crawled.record(&seed)["status"], 200);
    for url in [&literal, &name] {
        let record = crawled.record(url);
        assert_eq!(record["error"], "address-refused", "{url}: {record}");
    }
    assert!(
        !was_connected_to(&listener),
        "a refused address was connected to"
    );
}

#[test]
fn allow_address_opens_a_network_and_the_more_specific_rule_wins() {
    let listener = TcpListener::bind((Ipv4Addr::new(127, 0, 0, 3), 0)).unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let scenario = one_page_web();
    let server = scenario.server();
    let allowed = server.url("127.0.0.1", "/");
    let denied = format!("http://127.0.0.3:{port}/");
    let seed = page_linking_to(server, &[&allowed, &denied]);
    let crawled = scenario
        .seeds([seed])
        .flags(&[
            "--scope",
            "all",
            "--per-host-rate",
            "0",
            "--deny-address",
            "127.0.0.0/8",
            "--allow-address",
            "127.0.0.1",
        ])
        .crawl();
    // Connected to: the server answered (it serves no host named 127.0.0.1).
    assert_eq!(crawled.record(&allowed)["status"], 404);
    assert_eq!(crawled.record(&denied)["error"], "address-refused");
    assert!(!was_connected_to(&listener));
}

#[test]
fn another_port_of_a_seed_host_is_out_of_scope_unless_scope_is_hostname() {
    let other = FixtureServer::start(WebConfig {
        hosts: 1,
        pages: 2,
        ..WebConfig::default()
    })
    .unwrap();
    let elsewhere = other.url("h0.test", "/page/1");
    // A --resolve rule holds on its port only: the other port has its own.
    let other_port = format!("h0.test:{}:127.0.0.1", other.port());
    let crawl = |scope: &[&str]| {
        other.clear_log();
        let scenario = one_page_web();
        let seed = page_linking_to(scenario.server(), &[&elsewhere]);
        let mut flags = vec!["--per-host-rate", "0", "--resolve", &other_port];
        flags.extend(scope);
        scenario.seeds([seed]).flags(&flags).crawl();
        other.log()
    };
    let requests = crawl(&[]);
    assert!(
        requests.is_empty(),
        "another port was crawled: {requests:?}"
    );
    let requests = crawl(&["--scope", "hostname"]);
    let paths: Vec<&str> = requests.iter().map(|r| r.path.as_str()).collect();
    assert!(paths.contains(&"/page/1"), "{paths:?}");
}

#[test]
fn a_bad_network_is_a_usage_error_naming_the_flag_and_the_value() {
    let scenario = one_page_web();
    for (flag, value) in [
        ("--allow-address", "10.0.0.0/33"),
        ("--deny-address", "intranet.test"),
    ] {
        let out = scenario.try_crawl(&[flag, value]);
        let stderr = out.stderr();
        assert_eq!(out.code(), Some(2), "{flag} {value}: {stderr}");
        assert!(
            stderr.contains(&flag[2..]) && stderr.contains(value) && stderr.contains("CIDR"),
            "{flag} {value}: {stderr}"
        );
    }
    assert!(scenario.server().log().is_empty());
}
