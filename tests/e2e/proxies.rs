//! `--proxy`: every request (robots.txt, sitemaps, pages, redirect targets) goes
//! through the proxy, each host through one proxy of a pool, a failing proxy is taken
//! out and its hosts move, SOCKS5 works, and proxy credentials show nowhere.
//!
//! The proxy fixtures send every target to 127.0.0.1 on the port it names, so the
//! fixture web is reached through them whatever the names; the harness's `--resolve`
//! is given too, as a user would, and must not let requests bypass the proxy.

use std::collections::{BTreeMap, BTreeSet};

use crawler_fixtures::{ForwardProxy, ProxyFailure, ProxyRecord, SocksProxy, TlsServer};
use crawler_tests::{files_under, request_counts, run_with_env, Scenario, WebConfig};

use crate::CRAWLER;

fn web(hosts: usize, pages: usize) -> Scenario {
    Scenario::web(WebConfig {
        hosts,
        pages,
        ..WebConfig::default()
    })
}

/// `(host, path)` -> requests, of what a proxy forwarded (tunnels left out).
fn forwarded(log: &[ProxyRecord]) -> BTreeMap<(String, String), usize> {
    let mut counts = BTreeMap::new();
    for record in log.iter().filter(|r| r.method == "GET" && r.status == 200) {
        *counts
            .entry((record.host.clone(), record.path.clone()))
            .or_insert(0) += 1;
    }
    counts
}

/// The hosts a proxy carried requests for.
fn hosts(log: &[ProxyRecord]) -> BTreeSet<String> {
    log.iter()
        .filter(|r| r.status == 200)
        .map(|r| r.host.clone())
        .collect()
}

#[test]
fn every_request_goes_through_the_proxy_and_each_record_names_it() {
    let proxy = ForwardProxy::start().unwrap();
    let scenario = web(2, 3);
    let server = scenario.server();
    let redirect = server.url(
        "h0.test",
        &format!("/_fixture/redirect-to?{}", server.url("h1.test", "/page/1")),
    );
    let seeds = [server.url("robots-sitemap.test", "/"), redirect.clone()];
    let crawled = scenario
        .seeds(seeds)
        .flags(&[
            "--proxy",
            &proxy.url(),
            "--scope",
            "all",
            "--max-depth",
            "1",
        ])
        .crawl();
    let origin = request_counts(&crawled.server().log());
    let through = forwarded(&proxy.log());
    assert_eq!(
        through, origin,
        "the origin saw exactly what the proxy forwarded"
    );
    for (host, path) in [
        ("robots-sitemap.test", "/robots.txt"),
        ("robots-sitemap.test", "/sitemaps/index.xml"),
        ("robots-sitemap.test", "/from-xml-1"),
        ("h0.test", "/robots.txt"),
        ("h1.test", "/robots.txt"),
        ("h1.test", "/page/1"),
    ] {
        assert!(
            through.contains_key(&(host.to_owned(), path.to_owned())),
            "{host}{path} went through the proxy: {through:?}"
        );
    }
    let record = crawled.record(&redirect);
    assert_eq!(record["proxy"], proxy.url(), "{record}");
    let info = crawled.query("get", &[&redirect, "--info"]).stdout();
    assert!(
        info.contains(&format!("proxy           {}", proxy.url())),
        "{info}"
    );
    let export = crawled.query("export", &["--format", "jsonl"]).json_lines();
    assert!(export.iter().all(|page| page["proxy"] == proxy.url()));
    let summary = crawled.summary();
    let requests: usize = proxy.log().len();
    assert_eq!(summary["proxies"][0]["proxy"], proxy.url(), "{summary}");
    assert_eq!(
        summary["proxies"][0]["requests"], requests as u64,
        "{summary}"
    );
}

#[test]
fn a_pool_keeps_each_host_on_one_proxy_and_no_proxy_hosts_go_direct() {
    let (first, second) = (
        ForwardProxy::start().unwrap(),
        ForwardProxy::start().unwrap(),
    );
    let scenario = web(8, 3);
    let config = scenario.workspace().path("crawl.toml");
    // Through the config file: its keys are the long flag names.
    std::fs::write(
        &config,
        format!(
            "proxy = [\"{}\", \"{}\"]\nno-proxy = \"h7.test\"\n",
            first.url(),
            second.url()
        ),
    )
    .unwrap();
    let crawled = scenario
        .flags(&["--config", config.to_str().unwrap()])
        .crawl();
    assert_eq!(crawled.stored_urls(), crawled.server().expected_urls());
    let (a, b) = (hosts(&first.log()), hosts(&second.log()));
    assert!(a.is_disjoint(&b), "a host went through both: {a:?} {b:?}");
    assert!(
        !a.is_empty() && !b.is_empty(),
        "both carried hosts: {a:?} {b:?}"
    );
    assert_eq!(a.len() + b.len(), 7, "h7.test went direct: {a:?} {b:?}");
    assert!(!a.contains("h7.test") && !b.contains("h7.test"));
    let direct = crawled.server().seeds()[7].clone();
    assert_eq!(crawled.record(&direct)["proxy"], serde_json::Value::Null);
}

#[test]
fn a_failing_proxy_is_taken_out_and_its_hosts_move() {
    for failure in [ProxyFailure::Refuse, ProxyFailure::BadGateway] {
        let (failing, sound) = (
            ForwardProxy::start().unwrap(),
            ForwardProxy::start().unwrap(),
        );
        failing.fail_after(4, failure);
        let crawled = web(8, 4)
            .flags(&["--proxy", &failing.url(), "--proxy", &sound.url(), "-v"])
            .crawl();
        assert_eq!(
            crawled.stored_urls(),
            crawled.server().expected_urls(),
            "{failure:?}"
        );
        let stats = crawled.stats();
        assert_eq!(
            stats["errors"],
            serde_json::json!({}),
            "{failure:?}: {stats}"
        );
        let served_before: BTreeSet<String> = hosts(&failing.log());
        assert!(!served_before.is_empty());
        assert!(
            served_before.is_subset(&hosts(&sound.log())),
            "{failure:?}: the failing proxy's hosts moved to the sound one"
        );
        // Back after its backoff, it may fail again: each outage counts, said once.
        let summary = crawled.summary();
        let outages = summary["proxies"][0]["outages"].as_u64().unwrap_or(0);
        assert!(outages >= 1, "{failure:?}: {summary}");
        assert_eq!(summary["proxies"][1]["outages"], 0, "{summary}");
        assert!(
            summary["proxy_hosts_moved"].as_u64() >= Some(1),
            "{summary}"
        );
        assert_eq!(stats["proxies"][0]["outages"], outages, "{stats}");
        let log = crawled.run().stderr();
        let announced = log.matches("proxy taken out of the pool").count() as u64;
        assert_eq!(
            announced, outages,
            "{failure:?}: said once per outage: {log}"
        );
        let text = crawled.query("stats", &[]).stdout();
        assert!(
            text.contains(&format!("proxy {}: ", failing.url())),
            "{text}"
        );
        let text = crawled
            .then()
            .flags(&["--proxy", &failing.url(), "--proxy", &sound.url()])
            .text()
            .crawl()
            .run()
            .stdout();
        assert!(text.contains("proxies: "), "{text}");
    }
}

#[test]
fn with_every_proxy_out_requests_fail_as_proxy_and_never_go_direct() {
    let proxy = ForwardProxy::start().unwrap();
    proxy.fail_after(0, ProxyFailure::Refuse);
    let crawled = web(1, 2)
        .flags(&["--proxy", &proxy.url(), "--retries", "0", "--ignore-robots"])
        .attempt();
    assert_eq!(crawled.server().log(), Vec::new(), "nothing went direct");
    let seed = crawled.server().seeds()[0].clone();
    let record = crawled.record(&seed);
    assert_eq!(record["error"], "proxy", "{record}");
    let run = crawled.run();
    assert_eq!(run.code(), Some(4), "no server answered");
    assert!(
        run.stderr().contains("check the proxies"),
        "{}",
        run.stderr()
    );
}

#[test]
fn socks5_carries_the_crawl_with_and_without_credentials() {
    let open = SocksProxy::start().unwrap();
    let crawled = web(2, 2).flags(&["--proxy", &open.url()]).crawl();
    assert_eq!(crawled.stored_urls(), crawled.server().expected_urls());
    assert_eq!(
        hosts(&open.log()),
        BTreeSet::from(["127.0.0.1".to_owned()]),
        "socks5:// resolves names here (--resolve applies)"
    );
    // One tunnel per connection: the origin saw only the proxy's connections.
    let connections: BTreeSet<u64> = crawled
        .server()
        .log()
        .iter()
        .map(|r| r.connection_id)
        .collect();
    assert_eq!(open.log().len(), connections.len());

    let guarded = SocksProxy::start().unwrap();
    guarded.require("crawler", "s0cks-pw");
    let with = guarded
        .url_with("crawler", "s0cks-pw")
        .replace("socks5:", "socks5h:");
    let crawled = web(2, 2).flags(&["--proxy", &with]).crawl();
    assert_eq!(crawled.stored_urls(), crawled.server().expected_urls());
    assert!(
        hosts(&guarded.log()).contains("h0.test"),
        "socks5h: the proxy resolves"
    );
    let seed = crawled.server().seeds()[0].clone();
    assert_eq!(
        crawled.record(&seed)["proxy"],
        guarded.url().replace("socks5://", "socks5h://***@")
    );

    let wrong = guarded
        .url_with("crawler", "wrong")
        .replace("socks5:", "socks5h:");
    let refused = web(1, 1)
        .flags(&["--proxy", &wrong, "--retries", "0", "--ignore-robots"])
        .attempt();
    assert_eq!(refused.server().log(), Vec::new());
    let seed = refused.server().seeds()[0].clone();
    assert_eq!(refused.record(&seed)["error"], "proxy");
}

#[test]
fn proxy_credentials_are_shown_nowhere() {
    let secret = "pr0xy-s3cret";
    let encoded = "Y3Jhd2xlcjpwcjB4eS1zM2NyZXQ="; // crawler:pr0xy-s3cret
    let proxy = ForwardProxy::start().unwrap();
    proxy.require("crawler", secret);
    let tls = TlsServer::start().unwrap();
    let scenario = web(1, 2);
    let store = scenario.workspace().store();
    let mut seeds = scenario.server().seeds();
    // An https URL goes through a CONNECT tunnel (and fails on the self-signed
    // certificate, after the tunnel).
    seeds.push(tls.url("tls.test", "/"));
    let proxy_url = proxy.url_with("crawler", secret);
    let crawled = scenario
        .seeds(seeds)
        .flags(&[
            "--proxy",
            &proxy_url,
            "--scope",
            "all",
            "--max-depth",
            "1",
            "-vvv",
        ])
        .crawl();
    let log = proxy.log();
    assert!(log
        .iter()
        .all(|r| r.credentials.as_deref() == Some(&format!("Basic {encoded}")[..])));
    assert!(
        log.iter()
            .any(|r| r.method == "CONNECT" && r.host == "tls.test"),
        "{log:?}"
    );
    let mut outputs = vec![
        ("crawl stdout".to_owned(), crawled.run().stdout()),
        ("crawl stderr (-vvv)".to_owned(), crawled.run().stderr()),
    ];
    let seed = crawled.server().seeds()[0].clone();
    let warc = crawled.workspace().path("out.warc.gz");
    for args in [
        vec!["get", &seed, "--info"],
        vec!["get", &seed, "--json"],
        vec!["get", &seed, "--headers", "--request"],
        vec!["ls", "--json"],
        vec!["stats"],
        vec!["export", "--format", "jsonl"],
        vec![
            "export",
            "--format",
            "warc",
            "--output",
            warc.to_str().unwrap(),
        ],
    ] {
        let run = crawled.query(args[0], &args[1..]);
        outputs.push((format!("{args:?}"), run.stdout() + &run.stderr()));
    }
    let mut warc_text = Vec::new();
    std::io::Read::read_to_end(
        &mut flate2::read::MultiGzDecoder::new(std::fs::File::open(&warc).unwrap()),
        &mut warc_text,
    )
    .unwrap();
    outputs.push((
        "the WARC".into(),
        String::from_utf8_lossy(&warc_text).into_owned(),
    ));
    for (what, text) in &outputs {
        assert!(
            !text.contains(secret) && !text.contains(encoded),
            "{what} shows it: {text}"
        );
    }
    assert!(
        outputs[1].1.contains("http://***@127.0.0.1"),
        "the log names the proxy masked"
    );
    for file in files_under(&store) {
        let bytes = std::fs::read(&file).unwrap_or_default();
        for needle in [secret, encoded] {
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
                "{} holds the proxy credentials",
                file.display()
            );
        }
    }
}

#[test]
fn bad_proxy_input_stops_the_crawl_before_any_fetch_naming_it() {
    let scenario = web(1, 1);
    let config = scenario.workspace().path("crawl.toml");
    std::fs::write(&config, "proxy = [\"gopher://x:1\"]\n").unwrap();
    let config = config.to_str().unwrap().to_owned();
    for (flags, says) in [
        (
            vec!["--proxy", "ftp://user:n0tshown@x"],
            "--proxy: ftp://***@x is not a proxy URL",
        ),
        (
            vec!["--proxy", "http://"],
            "--proxy: http:// is not a proxy URL",
        ),
        (
            vec!["--proxy", "none", "--proxy", "http://p:1"],
            "--proxy: none",
        ),
        (
            vec!["--no-proxy", "ok.test,bad host"],
            "--no-proxy: \"bad host\"",
        ),
        (vec!["--config", &config], "crawl.toml:1"),
    ] {
        let refused = scenario.try_crawl(&flags);
        assert_eq!(refused.code(), Some(2), "{flags:?}: {}", refused.stderr());
        let err = refused.stderr();
        assert!(err.contains(says), "{flags:?}: {err}");
        assert!(!err.contains("n0tshown"), "{err}");
    }
    assert_eq!(scenario.server().log(), Vec::new());
}

#[test]
fn without_a_proxy_flag_the_environment_is_honoured_and_none_ignores_it() {
    let proxy = ForwardProxy::start().unwrap();
    let scenario = web(1, 1);
    // An address: no --resolve name, so the environment's proxy applies to it.
    let seed = format!("http://127.0.0.1:{}/", scenario.server().port());
    let env = [("HTTP_PROXY", proxy.url())];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let ws = scenario.workspace();
    let crawl = |store: &str, flags: &[&str]| {
        let mut args = vec![
            "crawl",
            "--store",
            store,
            "--no-progress",
            "--max-depth",
            "0",
        ];
        args.extend_from_slice(flags);
        args.push(&seed);
        run_with_env(CRAWLER, &args, &env).success()
    };
    crawl(ws.path("a").to_str().unwrap(), &[]);
    assert!(
        hosts(&proxy.log()).contains("127.0.0.1"),
        "HTTP_PROXY is used"
    );
    let before = proxy.log().len();
    scenario.server().clear_log();
    crawl(ws.path("b").to_str().unwrap(), &["--proxy", "none"]);
    assert_eq!(
        proxy.log().len(),
        before,
        "--proxy none: not through HTTP_PROXY"
    );
    assert!(!scenario.server().log().is_empty(), "direct");
}

/// Crawls a small web and six down sites (`scheme` on closed ports) through
/// `proxies`: no proxy may be taken out, every page is stored, and no down site is
/// recorded as a proxy failure.
fn down_sites_strike_no_proxy(scheme: &str, proxies: &[&ForwardProxy]) {
    let scenario = web(3, 3);
    let mut seeds = scenario.server().seeds();
    let down: Vec<String> = (0..6)
        .map(|i| format!("{scheme}://down{i}.test:{}/", crawler_tests::closed_port()))
        .collect();
    seeds.extend(down.iter().cloned());
    let urls: Vec<String> = proxies.iter().map(|proxy| proxy.url()).collect();
    let mut flags = vec!["--per-host-rate", "0"];
    for url in &urls {
        flags.extend(["--proxy", url.as_str()]);
    }
    let crawled = scenario.seeds(seeds).flags(&flags).crawl();
    let summary = crawled.summary();
    for proxy in 0..proxies.len() {
        assert_eq!(summary["proxies"][proxy]["outages"], 0, "{summary}");
    }
    let mut expected = crawled.server().expected_urls();
    expected.extend(down.iter().cloned());
    assert_eq!(crawled.stored_urls(), expected);
    for url in &down {
        let record = crawled.record(url);
        assert_ne!(record["error"], "proxy", "{record}");
    }
}

#[test]
fn sites_the_proxy_cannot_reach_are_the_sites_fault_not_the_proxys() {
    // Down sites, as a broad crawl meets many: the proxy answers 502 with
    // `Proxy-Status: ...; error=connection_refused`.
    down_sites_strike_no_proxy("http", &[&ForwardProxy::start().unwrap()]);
}

#[test]
fn a_site_no_proxy_of_the_pool_can_tunnel_to_is_held_against_no_proxy() {
    // A refused CONNECT says nothing of why: a broken proxy or a down site. The
    // other proxy of the pool, asked too, tells which.
    let (first, second) = (
        ForwardProxy::start().unwrap(),
        ForwardProxy::start().unwrap(),
    );
    down_sites_strike_no_proxy("https", &[&first, &second]);
}
