//! The crawl's cookie jar kept in the store: read back when a run starts (a
//! `--cookies` file loaded over it), saved by a thread of its own (`cookie-saver`)
//! at most once every [`SAVE_EVERY`] while it changes, and once more when the run
//! ends. So a stopped, crashed or killed crawl resumes with its sessions; a `kill -9`
//! loses at most what the jar took in the last [`SAVE_EVERY`].

use std::sync::Arc;
use std::thread;
use std::time::Duration;

use crawler_storage::{Store, StoreError};
use crossbeam_channel::{select, Sender};

use crate::fetch::{CookieJar, FileCookie};

/// How often a changing jar is saved at most.
pub(crate) const SAVE_EVERY: Duration = Duration::from_secs(1);

/// The jar the store holds, with the cookies of a file put in over it.
pub(crate) fn open_jar(
    store: &Store,
    file_cookies: &[FileCookie],
) -> Result<CookieJar, StoreError> {
    let jar = match store.cookie_jar()? {
        Some(saved) => {
            let (jar, unreadable) = CookieJar::restore(&saved);
            if unreadable > 0 {
                tracing::warn!(
                    unreadable,
                    "cookies saved with the crawl could not be read back: they are left out"
                );
            }
            tracing::info!(
                cookies = jar.len(),
                "the cookie jar is read back from the store"
            );
            jar
        }
        None => CookieJar::new(),
    };
    for cookie in file_cookies {
        // Checked against the same rules when the file was read.
        if let Err(refused) = jar.insert(&cookie.raw, &cookie.url) {
            tracing::warn!(line = cookie.line, %refused, "a cookie of the cookies file is left out");
        }
    }
    if !file_cookies.is_empty() {
        tracing::info!(
            cookies = file_cookies.len(),
            "cookies loaded from the cookies file"
        );
    }
    Ok(jar)
}

/// The thread that saves the jar while the crawl runs.
pub(crate) struct CookieKeeper {
    jar: Arc<CookieJar>,
    store: Arc<Store>,
    stop: Sender<()>,
    thread: Option<thread::JoinHandle<()>>,
}

impl CookieKeeper {
    /// Starts the saver; the jar is saved at once if loading it changed it.
    pub(crate) fn start(jar: Arc<CookieJar>, store: Arc<Store>) -> std::io::Result<CookieKeeper> {
        let (stop, stopped) = crossbeam_channel::bounded::<()>(1);
        let (saver_jar, saver_store) = (Arc::clone(&jar), Arc::clone(&store));
        let thread = thread::Builder::new()
            .name("cookie-saver".into())
            .spawn(move || loop {
                save(&saver_jar, &saver_store);
                select! {
                    recv(stopped) -> _ => return,
                    default(SAVE_EVERY) => {}
                }
            })?;
        Ok(CookieKeeper {
            jar,
            store,
            stop,
            thread: Some(thread),
        })
    }

    /// The jar it keeps.
    pub(crate) fn jar(&self) -> Arc<CookieJar> {
        Arc::clone(&self.jar)
    }

    /// Stops the saver and saves what changed since its last save.
    pub(crate) fn finish(mut self) {
        let _ = self.stop.send(());
        if let Some(thread) = self.thread.take() {
            if thread.join().is_err() {
                tracing::error!("the cookie saver panicked");
            }
        }
        save(&self.jar, &self.store);
    }
}

fn save(jar: &CookieJar, store: &Store) {
    let Some(bytes) = jar.snapshot() else {
        return;
    };
    match store.save_cookie_jar(&bytes) {
        Ok(()) => tracing::trace!(cookies = jar.len(), "cookie jar saved"),
        Err(error) => {
            jar.mark_unsaved();
            tracing::error!(%error, "the cookie jar could not be saved: a resumed crawl may lack its newest cookies");
        }
    }
}
