//! What a crawl sends and how it connects, as a user sets it for the real web: headers
//! (`-H`, per host in `--config`), per-host credentials whose secrets come from the
//! environment, HTTP/2 where offered (`--http1.1` to refuse it), and the TLS options
//! `--insecure` and `--cacert`.

use crawler_fixtures::{H2Server, BASIC_AUTH_PASSWORD, BASIC_AUTH_USER, H2_PAGES, TLS_HOST};
use crawler_tests::{run, run_with_env, status_served, Scenario, WebConfig};

use crate::CRAWLER;

/// A small web beside the HTTPS site: the harness's scenarios need one.
fn small() -> Scenario {
    Scenario::web(WebConfig {
        hosts: 2,
        pages: 3,
        ..WebConfig::default()
    })
}

/// The H2 site's pages: its index and leaves.
fn site_urls(h2: &H2Server) -> Vec<String> {
    std::iter::once(h2.url(TLS_HOST, "/"))
        .chain((1..=H2_PAGES).map(|n| h2.url(TLS_HOST, &format!("/p{n}"))))
        .collect()
}

/// `--cacert FILE` with the H2 site's certificate, written into `scenario`'s workspace.
fn trust(scenario: &Scenario, h2: &H2Server) -> String {
    let pem = scenario.workspace().path("h2.pem");
    std::fs::write(&pem, h2.certificate_pem()).unwrap();
    pem.to_string_lossy().into_owned()
}

/// Crawls the H2 site, its certificate trusted, with `flags`.
fn crawl_trusting(h2: &H2Server, flags: &[&str]) -> crawler_tests::Crawled {
    let scenario = small();
    let pem = trust(&scenario, h2);
    let resolve = h2.resolve_arg(TLS_HOST);
    scenario
        .seeds([h2.url(TLS_HOST, "/")])
        .flags(&["--cacert", &pem, "--resolve", &resolve])
        .flags(flags)
        .crawl()
}

#[test]
fn https_hosts_that_offer_http2_are_crawled_over_it_within_the_hosts_concurrency() {
    let h2 = H2Server::start().unwrap();
    let crawled = crawl_trusting(
        &h2,
        &["--per-host-rate", "0", "--per-host-concurrency", "2"],
    );
    for url in site_urls(&h2) {
        let record = crawled.record(&url);
        assert_eq!(record["status"], 200, "{record}");
        assert_eq!(record["http_version"], "HTTP/2.0", "{record}");
        assert!(record.get("tls_unverified").is_none(), "{record}");
    }
    let requests = h2.requests();
    assert!(
        requests.iter().all(|r| r.version == "HTTP/2.0"),
        "{requests:?}"
    );
    // Streams of one connection count like connections: two in flight at most.
    assert!(h2.max_in_flight() <= 2, "{} in flight", h2.max_in_flight());
    let head = crawled
        .query("get", &[&h2.url(TLS_HOST, "/p1"), "--headers"])
        .success()
        .stdout();
    assert!(head.starts_with("HTTP/2.0 200"), "{head}");

    let h2 = H2Server::start().unwrap();
    let crawled = crawl_trusting(&h2, &["--http1.1"]);
    assert_eq!(
        crawled.record(&h2.url(TLS_HOST, "/p1"))["http_version"],
        "HTTP/1.1"
    );
    let requests = h2.requests();
    assert!(
        !requests.is_empty() && requests.iter().all(|r| r.version == "HTTP/1.1"),
        "{requests:?}"
    );
}

#[test]
fn a_self_signed_certificate_is_refused_unless_trusted_or_insecure() {
    let h2 = H2Server::start().unwrap();
    let resolve = h2.resolve_arg(TLS_HOST);
    let index = h2.url(TLS_HOST, "/");
    let leaf = h2.url(TLS_HOST, "/p1");
    let base = [
        "--resolve",
        resolve.as_str(),
        "--ignore-robots",
        "--retries",
        "0",
    ];

    // No server answered: exit 4, the page recorded with why.
    let refused = small().seeds([index.clone()]).flags(&base).attempt();
    assert_eq!(refused.run().code(), Some(4), "{}", refused.run().stderr());
    assert_eq!(refused.record(&index)["error"], "tls");
    assert!(h2.requests().is_empty(), "{:?}", h2.requests());

    let insecure = small()
        .seeds([index.clone()])
        .flags(&base)
        .flags(&["--insecure"])
        .text()
        .crawl();
    let record = insecure.record(&leaf);
    assert_eq!(record["status"], 200, "{record}");
    assert_eq!(record["tls_unverified"], true, "{record}");
    let info = insecure.query("get", &[&leaf, "--info"]).success().stdout();
    assert!(
        info.contains("certificate not checked") && info.contains("HTTP/2.0"),
        "{info}"
    );
    let summary = insecure.run().stdout();
    assert!(summary.contains("not checked (--insecure)"), "{summary}");
    // The run's log says so too.
    assert!(insecure.run().stderr().contains("--insecure"));

    let scenario = small();
    let pem = trust(&scenario, &h2);
    let trusted = scenario
        .seeds([index])
        .flags(&base)
        .flags(&["--cacert", &pem])
        .crawl();
    let record = trusted.record(&leaf);
    assert_eq!(record["status"], 200, "{record}");
    assert!(record.get("tls_unverified").is_none(), "{record}");
}

#[test]
fn headers_reach_every_host_and_a_hosts_own_headers_and_token_reach_it_alone() {
    let h2 = H2Server::start().unwrap();
    let scenario = small();
    let other = scenario.server().url("h0.test", "/");
    let pem = trust(&scenario, &h2);
    let token = "t0ken-4f9a";
    let config = scenario.workspace().path("crawl.toml");
    std::fs::write(
        &config,
        format!(
            "[hosts.\"{TLS_HOST}:{}\"]\nheaders = {{ \"X-Team\" = \"crawl\", \"Accept-Language\" = \"fr\" }}\nbearer-env = \"CRAWL_TEST_TOKEN\"\n",
            h2.port()
        ),
    )
    .unwrap();
    let resolve = h2.resolve_arg(TLS_HOST);
    let config_arg = config.to_string_lossy().into_owned();
    let crawled = scenario
        .seeds([h2.url(TLS_HOST, "/"), other.clone()])
        .flags(&[
            "--config",
            &config_arg,
            "--cacert",
            &pem,
            "--resolve",
            &resolve,
            "-H",
            "Accept-Language: de",
            "-H",
            "X-Crawl: yes",
            "-H",
            "Accept: text/html",
            "-vvv",
        ])
        .crawl_with(|args| run_with_env(CRAWLER, &as_strs(args), &[("CRAWL_TEST_TOKEN", token)]));
    let requests = h2.requests();
    assert!(requests.len() > H2_PAGES, "{requests:?}");
    for request in &requests {
        let header = |name: &str| {
            request
                .headers
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(header("x-crawl"), Some("yes"), "{request:?}");
        assert_eq!(header("x-team"), Some("crawl"), "{request:?}");
        // The host's own value wins over the crawl's.
        assert_eq!(header("accept-language"), Some("fr"), "{request:?}");
        assert_eq!(header("accept"), Some("text/html"), "{request:?}");
        assert_eq!(
            header("authorization"),
            Some(format!("Bearer {token}").as_str())
        );
    }
    // The other host got the crawl's headers, not the HTTPS host's.
    let sent = crawled
        .query("get", &[&other, "--headers", "--request"])
        .success()
        .stdout();
    assert!(sent.contains("accept-language: de"), "{sent}");
    assert!(
        !sent.contains("x-team") && !sent.contains("authorization"),
        "{sent}"
    );
    // Where the request is shown, the token is not.
    let shown = crawled
        .query("get", &[&h2.url(TLS_HOST, "/p1"), "--headers", "--request"])
        .success()
        .stdout();
    assert!(shown.contains("authorization: [redacted]"), "{shown}");
    assert_secret_nowhere(&crawled, token);
}

#[test]
fn basic_credentials_of_a_host_go_to_it_alone_even_across_a_redirect() {
    let scenario = Scenario::web(WebConfig {
        hosts: 2,
        pages: 3,
        ..WebConfig::default()
    });
    let server = scenario.server();
    let config = scenario.workspace().path("crawl.toml");
    std::fs::write(
        &config,
        format!(
            "[hosts.\"h0.test\"]\nbasic-auth = {{ user = \"{BASIC_AUTH_USER}\", password-env = \"CRAWL_TEST_PW\" }}\n"
        ),
    )
    .unwrap();
    let elsewhere = server.url("h1.test", "/_fixture/basic-auth/elsewhere");
    let redirect = server.url("h0.test", &format!("/_fixture/redirect-to?{elsewhere}"));
    let seed = server.url("h0.test", "/_fixture/basic-auth");
    let config_arg = config.to_string_lossy().into_owned();
    let crawled = scenario
        .seeds([seed, redirect])
        .flags(&[
            "--config",
            &config_arg,
            "--scope",
            "all",
            "--max-depth",
            "1",
            "-vvv",
        ])
        .crawl_with(|args| {
            run_with_env(
                CRAWLER,
                &as_strs(args),
                &[("CRAWL_TEST_PW", BASIC_AUTH_PASSWORD)],
            )
        });
    let served = |host: &str, path: &str| status_served(&crawled.server().log(), host, path);
    assert_eq!(served("h0.test", "/_fixture/basic-auth"), Some(200));
    assert_eq!(served("h0.test", "/_fixture/basic-auth/inner"), Some(200));
    // Linked and redirected to from the host with credentials: sent none.
    assert_eq!(
        served("h1.test", "/_fixture/basic-auth/elsewhere"),
        Some(401)
    );
    assert_secret_nowhere(&crawled, BASIC_AUTH_PASSWORD);
}

fn as_strs(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

/// `secret` is in no file of the store, no export (the WARC decompressed), no query's
/// output, and neither the crawl's log (at `-vvv`) nor its summary.
fn assert_secret_nowhere(crawled: &crawler_tests::Crawled, secret: &str) {
    let holds = |bytes: &[u8]| bytes.windows(secret.len()).any(|w| w == secret.as_bytes());
    let run = crawled.run();
    assert!(!run.stderr().contains(secret), "the log shows it");
    assert!(!run.stdout().contains(secret), "the summary shows it");
    let store = crawled.store();
    let mut dirs = vec![std::path::PathBuf::from(&store)];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
                continue;
            }
            let bytes = std::fs::read(&path).unwrap_or_default();
            assert!(!holds(&bytes), "{} holds the secret", path.display());
        }
    }
    for format in ["jsonl", "csv", "warc"] {
        let out = crawled.query("export", &["--format", format]).success();
        let mut bytes = out.output.stdout.clone();
        if format == "warc" {
            let mut plain = Vec::new();
            std::io::Read::read_to_end(
                &mut flate2::read::MultiGzDecoder::new(bytes.as_slice()),
                &mut plain,
            )
            .unwrap();
            assert!(
                String::from_utf8_lossy(&plain).contains("WARC-Type: request"),
                "the WARC was read"
            );
            bytes = plain;
        }
        assert!(!holds(&bytes), "export {format} holds it");
    }
    let ls = crawled.query("ls", &["--json"]).success().stdout();
    for line in ls.lines() {
        let url = serde_json::from_str::<serde_json::Value>(line).unwrap()["url"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        for what in ["--json", "--headers", "--request"] {
            let out = crawled.query("get", &[&url, what]).success().stdout();
            assert!(!out.contains(secret), "get {what} {url} shows it");
        }
    }
    for (command, args) in [("ls", &[][..]), ("stats", &["--json"]), ("links", &[])] {
        let out = crawled.query(command, args).success().stdout();
        assert!(!out.contains(secret), "{command} shows it");
    }
}

#[test]
fn bad_headers_credentials_and_certificates_stop_the_crawl_naming_them() {
    let scenario = small();
    let config = scenario.workspace().path("crawl.toml");
    let refused = |flags: &[&str], expected: &[&str]| {
        let run = scenario.try_crawl(flags);
        assert_eq!(run.code(), Some(2), "{flags:?}: {}", run.stderr());
        for text in expected {
            assert!(run.stderr().contains(text), "{flags:?}: {}", run.stderr());
        }
        assert!(
            scenario.server().log().is_empty(),
            "{flags:?} fetched something"
        );
    };
    refused(
        &["-H", "Host: elsewhere.test"],
        &["--header", "Host cannot be set"],
    );
    refused(&["-H", "User-Agent: x"], &["--user-agent"]);
    refused(&["-H", "Accept:"], &["--header", "Accept: text/html"]);
    refused(&["-H", "no colon here"], &["--header", "no colon here"]);
    refused(
        &["--cacert", "/nonexistent/ca.pem"],
        &["--cacert", "/nonexistent/ca.pem"],
    );
    let config_arg = config.to_string_lossy().into_owned();
    let bad_files: [(&str, &[&str]); 3] = [
        (
            "workers = 2\n[hosts.\"h0.test\"]\nbearer-env = \"CRAWL_TEST_UNSET_VARIABLE\"\n",
            &[
                "h0.test",
                "CRAWL_TEST_UNSET_VARIABLE",
                "is not set",
                "crawl.toml:2",
            ],
        ),
        (
            "[hosts.\"h0.test\"]\nbasic-auth = { user = \"u\" }\n",
            &["crawl.toml:2", "password-env"],
        ),
        (
            "[hosts.\"h0.test\"]\nheaderz = { A = \"b\" }\n",
            &["crawl.toml:2", "headerz"],
        ),
    ];
    for (text, expected) in bad_files {
        std::fs::write(&config, text).unwrap();
        refused(&["--config", &config_arg], expected);
    }
    // Nothing reached the server and the binary was run: a sanity check of the helper.
    assert!(run(CRAWLER, &["--version"])
        .success()
        .stdout()
        .contains("crawler"));
}

#[test]
fn a_resolve_rule_applies_to_its_host_on_its_port_only() {
    let scenario = small();
    let port = scenario.server().port();
    // Names under .invalid never reach a DNS server: without a rule they fail at once.
    let mapped = format!("http://mapped.invalid:{port}/");
    let other_port = format!("http://mapped.invalid:{}/", crawler_tests::closed_port());
    let rule = format!("mapped.invalid:{port}:127.0.0.1");
    let crawled = scenario
        .seeds([mapped.clone(), other_port.clone()])
        .flags(&["--resolve", &rule, "--ignore-robots", "--retries", "0"])
        .crawl();
    let answered = crawled.record(&mapped);
    assert!(answered["status"].is_u64(), "{answered}");
    // Were the rule applied on every port, this would be a refused connection.
    let unmapped = crawled.record(&other_port);
    assert_eq!(unmapped["error"], "dns", "{unmapped}");
}
