//! Everything written to stderr while a progress bar may be on screen.
//!
//! The progress bar redraws its line in place; a log line or notice written at the
//! same moment would land in the middle of it. So every writer of stderr goes
//! through here: when a bar is shown, the line is written inside
//! [`indicatif::ProgressBar::suspend`], which clears the bar, writes, and redraws it
//! below. Data goes to stdout and never passes through here.

use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use crate::escape::escaped_lines;

/// The progress bar on screen, if one is.
static BAR: Mutex<Option<indicatif::ProgressBar>> = Mutex::new(None);

/// `-q`: notices are left out (errors are still printed).
static QUIET: AtomicBool = AtomicBool::new(false);

/// `--log-format json`: notices are written as log events so every stderr line is JSON.
static JSON: AtomicBool = AtomicBool::new(false);

/// Lines written to stderr from now on make room for `bar`.
pub fn show_bar(bar: indicatif::ProgressBar) {
    *BAR.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(bar);
}

/// The bar is gone; lines are written plainly again.
pub fn hide_bar() {
    BAR.lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .take();
}

/// Clears the bar from the screen and forgets it, for good: the process is exiting.
pub fn clear_bar() {
    let bar = BAR
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .take();
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
}

/// How notices are written (set once, when logging starts).
pub fn set_notice_style(quiet: bool, json: bool) {
    QUIET.store(quiet, Ordering::Relaxed);
    JSON.store(json, Ordering::Relaxed);
}

/// `-q`: no notices, no progress bar.
pub fn is_quiet() -> bool {
    QUIET.load(Ordering::Relaxed)
}

/// Whether notices and errors are written as JSON log events.
pub fn notices_are_json() -> bool {
    JSON.load(Ordering::Relaxed)
}

/// Writes `bytes` to stderr, above the progress bar when one is shown.
pub fn write_stderr(bytes: &[u8]) -> io::Result<()> {
    let bar = BAR
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .clone();
    match bar {
        Some(bar) => bar.suspend(|| io::stderr().lock().write_all(bytes)),
        None => io::stderr().lock().write_all(bytes),
    }
}

/// A message for the person at the terminal (`crawler: ...`): what happened and what
/// to do. Left out with `-q`; a warning event with `--log-format json`.
pub fn notice(message: &str) {
    if QUIET.load(Ordering::Relaxed) {
        return;
    }
    if JSON.load(Ordering::Relaxed) {
        tracing::warn!(target: "crawler", "{message}");
        return;
    }
    error_line(message);
}

/// `crawler: MESSAGE` on stderr, whatever the style, control characters escaped.
/// Nothing useful can be done when stderr itself is gone, so a failed write is
/// dropped: no writer of stderr may panic (as `eprintln!` does) or stop the command.
pub fn error_line(message: &str) {
    let _ = write_stderr(format!("crawler: {}\n", escaped_lines(message)).as_bytes());
}

/// The log subscriber's writer: [`write_stderr`] per formatted event.
///
/// `tracing-subscriber` formats each event into one buffer and writes it with one
/// `write_all`, so a line is never split around a redraw.
#[derive(Clone, Copy, Default)]
pub struct StderrAboveBar;

impl Write for StderrAboveBar {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        write_stderr(buf)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        io::stderr().flush()
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for StderrAboveBar {
    type Writer = StderrAboveBar;

    fn make_writer(&'a self) -> StderrAboveBar {
        StderrAboveBar
    }
}
