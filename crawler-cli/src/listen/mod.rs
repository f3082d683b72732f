//! `crawl --listen ADDR`: a read-only HTTP endpoint on a running crawl, for monitoring
//! (`/metrics`, Prometheus' text format), for `crawler top` (`/status.json`), and for
//! pausing, resuming or stopping the crawl (`POST /pause`, `/resume`, `/stop`, taken
//! from loopback peers only).
//!
//! It can never slow the crawl: every answer is built from the engine's live status
//! (atomics, and a host board the scheduler refreshes at most once a second), never by
//! waiting on the scheduler or a fetch. It is bounded: one thread accepts, two answer,
//! at most [`BACKLOG`] connections wait between them (more are closed at once), and a
//! client gets [`TIMEOUT`] to send its request and take its answer.

mod http;
mod metrics;

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use crawler_core::{Progress, StopHandle};
use crossbeam_channel::{Receiver, TrySendError};

use http::{Request, Response};

/// Connections accepted and not yet answered, at most.
const BACKLOG: usize = 16;
/// Threads answering requests.
const ANSWERING_THREADS: usize = 2;
/// How long a client has to send its request, and to take the answer.
const TIMEOUT: Duration = Duration::from_secs(2);

/// The address `--listen` takes: `PORT` (on 127.0.0.1), `HOST:PORT` with an IP
/// address or `localhost`, or `[IPv6]:PORT`.
pub fn parse_address(text: &str) -> Result<SocketAddr, String> {
    if let Ok(port) = text.parse::<u16>() {
        return Ok(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port));
    }
    if let Some(port) = text.strip_prefix("localhost:") {
        if let Ok(port) = port.parse::<u16>() {
            return Ok(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port));
        }
    }
    text.parse::<SocketAddr>().map_err(|_| {
        format!("`{text}` is not PORT or ADDRESS:PORT (such as 9184, 127.0.0.1:9184 or [::1]:9184)")
    })
}

/// The endpoint while it serves.
pub struct Endpoint {
    address: SocketAddr,
    closing: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

impl Endpoint {
    /// Serves the crawl whose counters are `progress` and whose controls are `control`
    /// on `listener` (bound early, so a taken port fails before the crawl starts).
    pub fn start(
        listener: TcpListener,
        progress: Arc<Progress>,
        control: StopHandle,
    ) -> io::Result<Endpoint> {
        let address = listener.local_addr()?;
        let closing = Arc::new(AtomicBool::new(false));
        let (handoff, accepted) = crossbeam_channel::bounded::<TcpStream>(BACKLOG);
        let mut threads = Vec::with_capacity(ANSWERING_THREADS + 1);
        for index in 0..ANSWERING_THREADS {
            let (accepted, progress, control) =
                (accepted.clone(), Arc::clone(&progress), control.clone());
            threads.push(
                thread::Builder::new()
                    .name(format!("listen-{index}"))
                    .spawn(move || answer_all(&accepted, &progress, &control))?,
            );
        }
        let flag = Arc::clone(&closing);
        threads.push(
            thread::Builder::new()
                .name("listen-accept".into())
                .spawn(move || {
                    for stream in listener.incoming() {
                        if flag.load(Ordering::SeqCst) {
                            break;
                        }
                        let Ok(stream) = stream else {
                            // Out of descriptors, say: wait rather than spin.
                            thread::sleep(Duration::from_millis(50));
                            continue;
                        };
                        // A full backlog closes the connection: the crawl never waits.
                        if let Err(TrySendError::Disconnected(_)) = handoff.try_send(stream) {
                            break;
                        }
                    }
                })?,
        );
        Ok(Endpoint {
            address,
            closing,
            threads,
        })
    }

    /// Where it listens (the port chosen when `--listen` gave 0).
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Stops serving and joins its threads.
    pub fn finish(self) {
        self.closing.store(true, Ordering::SeqCst);
        // Wakes the accepting thread, blocked in `accept`.
        let _ = TcpStream::connect_timeout(&reachable(self.address), TIMEOUT);
        for thread in self.threads {
            let _ = thread.join();
        }
    }
}

/// `address`, with an unspecified IP (`0.0.0.0`, `::`) replaced by loopback.
fn reachable(address: SocketAddr) -> SocketAddr {
    let ip = match address.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    SocketAddr::new(ip, address.port())
}

fn answer_all(accepted: &Receiver<TcpStream>, progress: &Progress, control: &StopHandle) {
    for stream in accepted {
        let _ = answer(stream, progress, control);
    }
}

fn answer(mut stream: TcpStream, progress: &Progress, control: &StopHandle) -> io::Result<()> {
    stream.set_read_timeout(Some(TIMEOUT))?;
    stream.set_write_timeout(Some(TIMEOUT))?;
    let from_loopback = stream.peer_addr().is_ok_and(|peer| peer.ip().is_loopback());
    let response = match http::read_request(&mut stream)? {
        Some(request) => route(&request, from_loopback, progress, control),
        None => Response::text(400, "a request line and headers within 8 KiB\n"),
    };
    response.write_to(&mut stream)
}

fn route(
    request: &Request,
    from_loopback: bool,
    progress: &Progress,
    control: &StopHandle,
) -> Response {
    let path = request.path.split('?').next().unwrap_or("");
    match (request.method.as_str(), path) {
        ("GET", "/metrics") => Response::metrics(metrics::encode(&progress.status())),
        ("GET", "/status.json") => match serde_json::to_vec(&progress.status()) {
            Ok(json) => Response::json(200, json),
            Err(e) => Response::text(500, &format!("{e}\n")),
        },
        ("GET", "/") => Response::text(200, INDEX),
        ("POST", "/pause" | "/resume" | "/stop") if !from_loopback => {
            Response::text(403, "pause, resume and stop are taken from loopback only\n")
        }
        ("POST", "/pause") => controlled(control, StopHandle::pause),
        ("POST", "/resume") => controlled(control, StopHandle::resume),
        ("POST", "/stop") => controlled(control, StopHandle::stop),
        (_, "/metrics" | "/status.json" | "/") => Response::not_allowed("GET"),
        (_, "/pause" | "/resume" | "/stop") => Response::not_allowed("POST"),
        _ => Response::text(404, "not found; see /\n"),
    }
}

fn controlled(control: &StopHandle, act: fn(&StopHandle)) -> Response {
    act(control);
    let state = serde_json::json!({
        "paused": control.is_paused(),
        "stopping": control.is_stopped(),
    });
    Response::json(200, state.to_string().into_bytes())
}

const INDEX: &str = "\
GET  /metrics      counters and histograms, Prometheus text format
GET  /status.json  the same, with the hosts named and each worker's URL
POST /pause        no new fetches until /resume (from loopback only)
POST /resume
POST /stop         end the crawl gracefully, as Ctrl-C does
";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_port_alone_listens_on_loopback() {
        assert_eq!(parse_address("9184"), Ok("127.0.0.1:9184".parse().unwrap()));
        assert_eq!(
            parse_address("localhost:9184"),
            Ok("127.0.0.1:9184".parse().unwrap())
        );
        assert_eq!(parse_address("[::1]:0"), Ok("[::1]:0".parse().unwrap()));
        assert_eq!(
            parse_address("0.0.0.0:9184"),
            Ok("0.0.0.0:9184".parse().unwrap())
        );
        let error = parse_address("example.org:80").unwrap_err();
        assert!(error.contains("`example.org:80`"), "{error}");
        assert!(parse_address("99999").is_err());
    }
}
