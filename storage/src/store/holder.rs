//! Who has a store open: a small `lock-holder` file beside the database.
//!
//! sled locks the store for one process. When a second process is refused, it can
//! only say "in use"; the holder file lets it name the process (normally a running
//! crawl, with its command line) and how long it has had the store. The file is
//! advisory: it is written after the lock is taken, removed when the store is
//! dropped, and only read when the lock is held by someone, so a file left by a
//! killed process is overwritten by the next one to open the store.
//!
//! The holder may also advertise where it serves while it runs (a running crawl's
//! `--listen` address, say), so a client given only the store finds it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::record::now_ms;

const FILE: &str = "lock-holder";
/// A command line is cut to this many characters in the description.
const MAX_COMMAND: usize = 200;

#[derive(Serialize, Deserialize)]
struct Holder {
    pid: u32,
    command: String,
    since_ms: u64,
    /// Where the holder serves, by name (`listen`: an HTTP address).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    services: BTreeMap<String, String>,
}

fn file(store: &Path) -> PathBuf {
    store.join(FILE)
}

/// Records this process as the holder of `store`. Best effort: a failure to write
/// only makes a refused process's message less specific.
///
/// The file is written whole under a new name of its own and renamed into place, so
/// a link planted at `lock-holder` is replaced, never followed.
pub fn claim(store: &Path) {
    let command: Vec<String> = std::env::args().map(|arg| without_userinfo(&arg)).collect();
    let holder = Holder {
        pid: std::process::id(),
        command: command.join(" "),
        since_ms: now_ms(),
        services: BTreeMap::new(),
    };
    write(store, &holder);
}

/// Adds `name = value` to the services this process advertises in the holder file of
/// `store`, which it holds. Best effort, as [`claim`].
pub fn advertise(store: &Path, name: &str, value: &str) {
    let Some(mut holder) = read(store).filter(|h| h.pid == std::process::id()) else {
        return;
    };
    holder.services.insert(name.to_owned(), value.to_owned());
    write(store, &holder);
}

/// What the holder of `store` advertises as `name`, if a holder file names one; the
/// holder may have died since (a client finds out when it connects).
pub fn advertised(store: &Path, name: &str) -> Option<String> {
    read(store)?.services.remove(name)
}

fn read(store: &Path) -> Option<Holder> {
    let bytes = std::fs::read(file(store)).ok()?;
    serde_json::from_slice(&bytes).ok()
}

fn write(store: &Path, holder: &Holder) {
    let Ok(json) = serde_json::to_vec(holder) else {
        return;
    };
    // This process's own name: only a dead process of the same pid can have left it.
    let temporary = store.join(format!(".{FILE}.{}.tmp", std::process::id()));
    let _ = std::fs::remove_file(&temporary);
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&temporary)
        .and_then(|mut out| std::io::Write::write_all(&mut out, &json))
        .and_then(|()| std::fs::rename(&temporary, file(store)));
    if written.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
}

/// `text` with the userinfo of any `scheme://user:pw@host` in it shown as `***`
/// (`scheme://***@host...`); anything else unchanged. The holder file is for anyone
/// to read, and a seed URL on the command line may carry a password; the engine masks
/// URLs in its error messages with it too.
pub fn without_userinfo(text: &str) -> String {
    let Some(start) = text.find("://").map(|at| at + 3) else {
        return text.to_owned();
    };
    let authority_end = text[start..]
        .find(['/', '?', '#', '\\'])
        .map_or(text.len(), |at| start + at);
    match text[start..authority_end].rfind('@') {
        Some(at) => format!("{}***{}", &text[..start], &text[start + at..]),
        None => text.to_owned(),
    }
}

/// Whether the holder file names a process other than this one.
pub fn held_by_another(store: &Path) -> bool {
    read(store).is_some_and(|h| h.pid != std::process::id())
}

/// Removes the holder file if this process wrote it.
pub fn release(store: &Path) {
    if read(store).is_some_and(|h| h.pid == std::process::id()) {
        let _ = std::fs::remove_file(file(store));
    }
}

/// `pid 123, "crawler crawl --store s ...", open for 12 s`, if the holder said who it is.
pub fn describe(store: &Path) -> Option<String> {
    let holder = read(store)?;
    let mut command: String = holder.command.chars().take(MAX_COMMAND).collect();
    if command.len() < holder.command.len() {
        command.push_str(" ...");
    }
    let secs = now_ms().saturating_sub(holder.since_ms) / 1000;
    Some(format!(
        "pid {}, `{command}`, open for {secs} s",
        holder.pid
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_claim_is_described_and_released_by_its_owner_only() {
        let dir = tempfile::tempdir().unwrap();
        claim(dir.path());
        let text = describe(dir.path()).unwrap();
        assert!(
            text.starts_with(&format!("pid {}, `", std::process::id())),
            "{text}"
        );
        release(dir.path());
        assert_eq!(describe(dir.path()), None);

        let other = Holder {
            pid: std::process::id().wrapping_add(1),
            command: "x".repeat(500),
            since_ms: 0,
            services: BTreeMap::new(),
        };
        std::fs::write(file(dir.path()), serde_json::to_vec(&other).unwrap()).unwrap();
        release(dir.path());
        let text = describe(dir.path()).unwrap();
        assert!(text.contains(" ...`"), "{text}");
    }

    #[test]
    fn a_service_is_advertised_by_the_holder_only_and_goes_with_it() {
        let dir = tempfile::tempdir().unwrap();
        advertise(dir.path(), "listen", "127.0.0.1:1");
        assert_eq!(advertised(dir.path(), "listen"), None, "no holder file yet");
        claim(dir.path());
        advertise(dir.path(), "listen", "127.0.0.1:9184");
        assert_eq!(
            advertised(dir.path(), "listen").as_deref(),
            Some("127.0.0.1:9184")
        );
        assert!(describe(dir.path()).is_some());
        release(dir.path());
        assert_eq!(advertised(dir.path(), "listen"), None);
    }

    #[test]
    fn passwords_on_the_command_line_are_masked() {
        assert_eq!(
            without_userinfo("http://user:pw@a.test:8080/p?x=a@b"),
            "http://***@a.test:8080/p?x=a@b"
        );
        assert_eq!(without_userinfo("http://a.test/@x"), "http://a.test/@x");
        assert_eq!(without_userinfo("--store"), "--store");
    }

    #[cfg(unix)]
    #[test]
    fn a_link_planted_at_the_holder_file_is_replaced_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "precious").unwrap();
        std::os::unix::fs::symlink(&victim, file(dir.path())).unwrap();
        claim(dir.path());
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
        assert!(describe(dir.path()).is_some());
    }

    #[test]
    fn a_damaged_file_describes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(file(dir.path()), "{").unwrap();
        assert_eq!(describe(dir.path()), None);
    }
}
