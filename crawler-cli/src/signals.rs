//! SIGINT and SIGTERM during a crawl: the first stops it gracefully, the second at once.
//!
//! A graceful stop dispatches nothing new, lets the fetches in flight finish (each is
//! bounded by `--timeout`) and flushes the store. Exiting at once is safe too: every
//! stored page was written atomically with its frontier changes, so the next
//! `crawler crawl --store DIR` continues from where the store is.

use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Arc;
use std::thread;

use crawler_core::StopHandle;
use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::{Handle, Signals};

use crate::terminal::{self, notice};

/// Watches for the signals while a crawl runs.
pub struct SignalWatch {
    handle: Handle,
    thread: thread::JoinHandle<()>,
    received: Arc<AtomicI32>,
}

impl SignalWatch {
    pub fn start(stop: StopHandle) -> std::io::Result<SignalWatch> {
        let mut signals = Signals::new([SIGINT, SIGTERM])?;
        let handle = signals.handle();
        let received = Arc::new(AtomicI32::new(0));
        let seen = Arc::clone(&received);
        let thread = thread::Builder::new()
            .name("signals".into())
            .spawn(move || {
                for signal in signals.forever() {
                    if seen.swap(signal, Ordering::SeqCst) != 0 {
                        // One line, said once (the notice is the log event with
                        // --log-format json), and the bar cleared rather than redrawn
                        // below it by a process about to exit.
                        terminal::clear_bar();
                        notice("second signal, exiting now; the store is consistent");
                        std::process::exit(128 + signal);
                    }
                    // Stop first: once the notice is out, nothing new is dispatched.
                    stop.stop();
                    tracing::info!(signal, "stopping on signal");
                    notice(
                        "stopping: no new fetches, waiting for those in flight (signal again to exit now)",
                    );
                }
            })?;
        Ok(SignalWatch {
            handle,
            thread,
            received,
        })
    }

    /// Stops watching; returns the signal that stopped the crawl, if one did.
    pub fn finish(self) -> Option<i32> {
        self.handle.close();
        let _ = self.thread.join();
        match self.received.load(Ordering::SeqCst) {
            0 => None,
            signal => Some(signal),
        }
    }
}
