//! `crawler top`: a running crawl's live status (`crawl --listen`'s `/status.json`),
//! refreshed each second: a full-screen view on a terminal (`ratatui`), with keys to
//! pause, resume and stop the crawl through the endpoint; one plain line a second
//! otherwise, until the endpoint goes away.

use std::collections::VecDeque;
use std::io::{self, IsTerminal, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::anyhow;
use crawler_core::{HostStatus, LiveStatus};
use ratatui::crossterm::event::{self, Event, KeyCode, KeyEventKind, KeyModifiers};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::{Block, Paragraph, Row, Sparkline, Table};
use ratatui::Frame;

use crate::args::TopArgs;
use crate::report::human_bytes;
use crate::Failure;

/// How often the status is read and the screen redrawn.
const REFRESH: Duration = Duration::from_secs(1);
/// Samples the sparklines show: a minute.
const SAMPLES: usize = 60;
/// How long the endpoint has to answer (it answers from atomics, at once).
const TIMEOUT: Duration = Duration::from_secs(2);

pub fn run(args: TopArgs) -> Result<ExitCode, Failure> {
    let address = address(&args)?;
    let first = status(address).map_err(|e| {
        anyhow!("cannot read the crawl's status at http://{address}/status.json: {e}")
    })?;
    let ended = if io::stdout().is_terminal() {
        full_screen(address, first)?
    } else {
        plain_lines(address, first)?
    };
    if ended {
        crate::terminal::notice(&format!(
            "the crawl at http://{address} has ended (its status is no longer served)"
        ));
    }
    Ok(ExitCode::SUCCESS)
}

/// `--connect`, or the `--listen` address the crawl running on `--store` advertises.
fn address(args: &TopArgs) -> Result<SocketAddr, Failure> {
    if let Some(address) = args.connect {
        return Ok(address);
    }
    let Some(store) = &args.store else {
        return Err(Failure::Usage("give --connect ADDR or --store DIR".into()));
    };
    let running = crawler_storage::advertised(store, "listen").ok_or_else(|| {
        anyhow!(
            "store {}: no running crawl serves its status (start it with crawler crawl --store {} --listen PORT ...)",
            store.display(),
            store.display()
        )
    })?;
    running.parse().map_err(|_| {
        Failure::Error(anyhow!(
            "store {}: its holder file names {running:?}, not an address",
            store.display()
        ))
    })
}

/// One request to the endpoint (which closes the connection after its answer): the
/// status code and the body.
fn request(address: SocketAddr, method: &str, path: &str) -> io::Result<(u16, Vec<u8>)> {
    let mut stream = TcpStream::connect_timeout(&address, TIMEOUT)?;
    stream.set_read_timeout(Some(TIMEOUT))?;
    stream.set_write_timeout(Some(TIMEOUT))?;
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer)?;
    let bad = || io::Error::other("not an HTTP answer");
    let split = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(bad)?;
    let head = String::from_utf8_lossy(&answer[..split]);
    let code = head
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(bad)?;
    Ok((code, answer[split + 4..].to_vec()))
}

fn status(address: SocketAddr) -> io::Result<LiveStatus> {
    match request(address, "GET", "/status.json")? {
        (200, body) => serde_json::from_slice(&body).map_err(io::Error::other),
        (code, _) => Err(io::Error::other(format!("answered {code}"))),
    }
}

/// The last minute of counters, for the rates and sparklines.
#[derive(Default)]
struct History {
    /// `(elapsed seconds, pages fetched, errors)` per reading, oldest first.
    samples: VecDeque<(f64, u64, u64)>,
}

impl History {
    fn add(&mut self, status: &LiveStatus) {
        let c = &status.counters;
        self.samples
            .push_back((c.elapsed_secs, c.fetched, c.errors));
        while self.samples.len() > SAMPLES + 1 {
            self.samples.pop_front();
        }
    }

    /// Per second between readings: `(pages, errors)`, one value per interval.
    fn rates(&self) -> Vec<(f64, f64)> {
        let samples: Vec<_> = self.samples.iter().collect();
        samples
            .windows(2)
            .map(|pair| {
                let (t0, p0, e0) = *pair[0];
                let (t1, p1, e1) = *pair[1];
                let secs = (t1 - t0).max(0.001);
                (
                    p1.saturating_sub(p0) as f64 / secs,
                    e1.saturating_sub(e0) as f64 / secs,
                )
            })
            .collect()
    }

    /// Pages a second over the last interval; the crawl's own average before two
    /// readings.
    fn pages_per_sec(&self, status: &LiveStatus) -> f64 {
        self.rates()
            .last()
            .map_or(status.counters.pages_per_sec, |rate| rate.0)
    }
}

/// Not a terminal: one line a second, until the endpoint goes away (the crawl ended:
/// `true`).
fn plain_lines(address: SocketAddr, first: LiveStatus) -> Result<bool, Failure> {
    let mut history = History::default();
    let mut out = io::stdout().lock();
    let mut current = first;
    loop {
        history.add(&current);
        writeln!(
            out,
            "{}",
            plain_line(&current, history.pages_per_sec(&current))
        )?;
        out.flush()?;
        std::thread::sleep(REFRESH);
        match status(address) {
            Ok(next) => current = next,
            Err(_) => return Ok(true),
        }
    }
}

fn plain_line(status: &LiveStatus, pages_per_sec: f64) -> String {
    let c = &status.counters;
    format!(
        "pages {}  {pages_per_sec:.1}/s  errors {}  queued {}  in flight {}  paused {}",
        c.fetched,
        c.errors,
        c.queued,
        c.in_flight,
        if c.paused { "yes" } else { "no" }
    )
}

/// What the screen shows besides the status.
struct View {
    address: SocketAddr,
    history: History,
    /// The last key's effect, or why it had none.
    message: String,
    /// `s` was pressed: waiting for y or n.
    confirming_stop: bool,
}

/// The full-screen view until `q` (`false`) or until the crawl ends (`true`).
fn full_screen(address: SocketAddr, first: LiveStatus) -> Result<bool, Failure> {
    let mut terminal = ratatui::init();
    let result = screen_loop(&mut terminal, address, first);
    ratatui::restore();
    result
}

fn screen_loop(
    terminal: &mut ratatui::DefaultTerminal,
    address: SocketAddr,
    first: LiveStatus,
) -> Result<bool, Failure> {
    let mut view = View {
        address,
        history: History::default(),
        message: String::new(),
        confirming_stop: false,
    };
    let mut current = first;
    view.history.add(&current);
    let mut next_read = Instant::now() + REFRESH;
    loop {
        terminal.draw(|frame| draw(frame, &current, &view))?;
        let wait = next_read.saturating_duration_since(Instant::now());
        if event::poll(wait)? {
            if let Event::Key(key) = event::read()? {
                if key.kind != KeyEventKind::Press {
                    continue;
                }
                let ctrl_c =
                    key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL);
                match (view.confirming_stop, key.code) {
                    _ if ctrl_c => return Ok(false),
                    (true, KeyCode::Char('y' | 'Y')) => {
                        view.confirming_stop = false;
                        view.message = control(address, "/stop");
                    }
                    (true, _) => {
                        view.confirming_stop = false;
                        view.message = "not stopped".into();
                    }
                    (false, KeyCode::Char('q') | KeyCode::Esc) => return Ok(false),
                    (false, KeyCode::Char('p')) => view.message = control(address, "/pause"),
                    (false, KeyCode::Char('r')) => view.message = control(address, "/resume"),
                    (false, KeyCode::Char('s')) => view.confirming_stop = true,
                    _ => {}
                }
                // A key shows its effect at once: read again now.
                next_read = Instant::now();
            }
            continue;
        }
        next_read = Instant::now() + REFRESH;
        match status(address) {
            Ok(next) => {
                current = next;
                view.history.add(&current);
            }
            // The crawl ended (or was killed): nothing more to show.
            Err(_) => return Ok(true),
        }
    }
}

/// POSTs `path` (`/pause`, `/resume`, `/stop`) and says what came of it.
fn control(address: SocketAddr, path: &str) -> String {
    let what = path.trim_start_matches('/');
    match request(address, "POST", path) {
        Ok((200, _)) => format!("{what}: done"),
        Ok((code, body)) => format!(
            "{what}: refused ({code}: {})",
            String::from_utf8_lossy(&body).trim()
        ),
        Err(e) => format!("{what}: {e}"),
    }
}

/// The whole screen; fits 80x24.
fn draw(frame: &mut Frame, status: &LiveStatus, view: &View) {
    let [header, counters, sparks, hosts, parked, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Length(5),
        Constraint::Min(5),
        Constraint::Length(5),
        Constraint::Length(1),
    ])
    .areas(frame.area());
    let c = &status.counters;
    let state = if c.paused { "PAUSED" } else { "running" };
    frame.render_widget(
        Paragraph::new(format!(
            "crawler top  http://{}  {state}  {}",
            view.address,
            elapsed(c.elapsed_secs)
        ))
        .style(Style::new().add_modifier(Modifier::BOLD)),
        header,
    );
    frame.render_widget(
        Paragraph::new(format!(
            // The parked count is in the parked box's title: this line fits 80 columns.
            "pages {} ({:.0}/s)  errors {}  {}  queued {}  in flight {}  hosts {}/{}",
            c.fetched,
            view.history.pages_per_sec(status),
            c.errors,
            human_bytes(c.bytes),
            c.queued,
            c.in_flight,
            c.hosts_active,
            c.hosts,
        )),
        counters,
    );
    draw_sparklines(frame, sparks, &view.history);
    let [slowest, failing] =
        Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(hosts);
    // Two columns: the host takes what the number leaves (a host key with its port
    // fits in 80 columns).
    let slow = status
        .hosts_by_delay
        .iter()
        .filter(|h| h.delay_ms > 0 || h.paused_ms > 0)
        .map(|h| (h, format!("{} ms", h.delay_ms.max(h.paused_ms))));
    host_table(frame, slowest, " slowest hosts ", "delay", slow);
    let failing_hosts = status
        .hosts_by_errors
        .iter()
        .filter(|h| h.errors > 0)
        .map(|h| (h, h.errors.to_string()));
    host_table(
        frame,
        failing,
        " most failing hosts ",
        "errors",
        failing_hosts,
    );
    let parked_lines: Vec<Line> = status
        .parked
        .iter()
        .map(|p| Line::from(format!("{}  {}: {}", strip_scheme(&p.host), p.kind, p.why)))
        .collect();
    frame.render_widget(
        Paragraph::new(parked_lines)
            .block(Block::bordered().title(format!(" parked hosts: {} ", c.hosts_parked))),
        parked,
    );
    let keys = if view.confirming_stop {
        "stop the crawl? y/n".to_owned()
    } else {
        format!("p pause  r resume  s stop  q quit   {}", view.message)
    };
    frame.render_widget(
        Paragraph::new(keys).style(Style::new().add_modifier(Modifier::REVERSED)),
        footer,
    );
}

/// A bordered table of hosts with one figure each.
fn host_table<'a>(
    frame: &mut Frame,
    area: Rect,
    title: &str,
    figure: &str,
    hosts: impl Iterator<Item = (&'a HostStatus, String)>,
) {
    let rows: Vec<Row> = hosts
        .map(|(host, value)| Row::new([short_host(host), value]))
        .collect();
    let dim = Style::new().add_modifier(Modifier::DIM);
    frame.render_widget(
        Table::new(rows, [Constraint::Fill(1), Constraint::Length(8)])
            .column_spacing(1)
            .header(Row::new(["host", figure]).style(dim))
            .block(Block::bordered().title(title.to_owned())),
        area,
    );
}

fn draw_sparklines(frame: &mut Frame, area: Rect, history: &History) {
    let [pages, errors] =
        Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(area);
    let rates = history.rates();
    // The newest at the right edge: only as many as fit.
    for (area, title, pick) in [(pages, "pages/s", 0), (errors, "errors/s", 1)] {
        let values: Vec<u64> = rates
            .iter()
            .map(|rate| if pick == 0 { rate.0 } else { rate.1 })
            .map(|v| v.round() as u64)
            .collect();
        let fit = area.width.saturating_sub(2) as usize;
        let shown = &values[values.len().saturating_sub(fit)..];
        let peak = shown.iter().copied().max().unwrap_or(0);
        frame.render_widget(
            Sparkline::default().data(shown).block(
                Block::bordered().title(format!(" {title} (last {}s, peak {peak}) ", shown.len())),
            ),
            area,
        );
    }
}

/// `http://a.test:80` as `a.test:80`: the column is narrow.
fn short_host(host: &HostStatus) -> String {
    strip_scheme(&host.host).to_owned()
}

fn strip_scheme(host: &str) -> &str {
    host.split_once("://").map_or(host, |(_, rest)| rest)
}

/// `1h02m03s`, `2m03s`, `3s`.
fn elapsed(secs: f64) -> String {
    let secs = secs.max(0.0) as u64;
    match (secs / 3600, secs / 60 % 60, secs % 60) {
        (0, 0, s) => format!("{s}s"),
        (0, m, s) => format!("{m}m{s:02}s"),
        (h, m, s) => format!("{h}h{m:02}m{s:02}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crawler_core::ParkedHost;
    use ratatui::backend::TestBackend;
    use ratatui::Terminal;

    fn host(name: &str, errors: u64, delay_ms: u64) -> HostStatus {
        HostStatus {
            host: format!("http://{name}:8080"),
            queued: 3,
            in_flight: 0,
            fetched: 10,
            errors,
            delay_ms,
            paused_ms: 0,
            state: "waiting".into(),
        }
    }

    fn screen(status: &LiveStatus, history: History) -> String {
        let mut terminal = Terminal::new(TestBackend::new(80, 24)).unwrap();
        let view = View {
            address: "127.0.0.1:9184".parse().unwrap(),
            history,
            message: String::new(),
            confirming_stop: false,
        };
        terminal.draw(|frame| draw(frame, status, &view)).unwrap();
        let buffer = terminal.backend().buffer();
        let mut text = String::new();
        for y in 0..buffer.area.height {
            for x in 0..buffer.area.width {
                text.push_str(buffer[(x, y)].symbol());
            }
            text.push('\n');
        }
        text
    }

    #[test]
    fn the_screen_names_the_slow_failing_and_parked_hosts_in_80_by_24() {
        let mut status = LiveStatus::default();
        status.counters.fetched = 120;
        status.counters.paused = true;
        status.counters.hosts_parked = 1;
        status.hosts_by_delay = vec![host("slow.test", 0, 2_000)];
        status.hosts_by_errors = vec![host("busy.test", 7, 0), host("fine.test", 0, 0)];
        status.parked = vec![ParkedHost {
            host: "http://gone.test:80".into(),
            kind: "host-unreachable".into(),
            why: "connect".into(),
        }];
        let mut history = History::default();
        for (secs, fetched) in [(1.0, 10), (2.0, 30), (3.0, 60)] {
            let mut reading = status.clone();
            reading.counters.elapsed_secs = secs;
            reading.counters.fetched = fetched;
            history.add(&reading);
        }
        let text = screen(&status, history);
        for expected in [
            "PAUSED",
            "slow.test:8080",
            "2000 ms",
            "busy.test:8080",
            "gone.test:80  host-unreachable: connect",
            "pages 120 (30/s)",
            "p pause",
        ] {
            assert!(text.contains(expected), "{expected} not on screen:\n{text}");
        }
        assert!(
            !text.contains("fine.test"),
            "no errors, not failing:\n{text}"
        );
    }

    #[test]
    fn rates_are_per_second_between_readings_and_keep_a_minute() {
        let mut history = History::default();
        let mut status = LiveStatus::default();
        for i in 0..100u64 {
            status.counters.elapsed_secs = i as f64 * 2.0;
            status.counters.fetched = i * 10;
            status.counters.errors = i;
            history.add(&status);
        }
        let rates = history.rates();
        assert_eq!(rates.len(), SAMPLES);
        assert_eq!(rates.last(), Some(&(5.0, 0.5)));
        assert_eq!(
            plain_line(&status, 5.0),
            "pages 990  5.0/s  errors 99  queued 0  in flight 0  paused no"
        );
    }
}
