//! The crawl's cookie jar, kept in `cookies.jar` so that a resumed crawl (after a stop,
//! a crash or `kill -9`) keeps its sessions.
//!
//! The store does not read it: the engine hands over the jar as bytes and gets them
//! back. It holds the cookies' real values (a session cookie is a login), so the file
//! is readable by its owner only. It is written whole (a temporary file, synced, then
//! renamed over the old one), so a kill leaves the previous jar or the new one.

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;

use super::Store;
use crate::files::{read_whole, sync_dir};
use crate::StoreError;

const COOKIES_FILE: &str = "cookies.jar";

impl Store {
    /// The cookie jar last saved with [`Store::save_cookie_jar`], if any.
    pub fn cookie_jar(&self) -> Result<Option<Vec<u8>>, StoreError> {
        read_whole(&self.cookies_path())
    }

    /// Replaces the saved cookie jar with `jar`, durably: a crash leaves this jar or
    /// the one before, never a mix.
    pub fn save_cookie_jar(&self, jar: &[u8]) -> Result<(), StoreError> {
        self.check_writable()?;
        let path = self.cookies_path();
        let temporary = self.path().join(format!("{COOKIES_FILE}.tmp"));
        let write = || -> std::io::Result<()> {
            // A leftover of a killed save, or anything planted there, is not written through.
            match std::fs::remove_file(&temporary) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
                _ => {}
            }
            let mut file = OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&temporary)?;
            file.write_all(jar)?;
            file.sync_data()?;
            std::fs::rename(&temporary, &path)
        };
        write().map_err(|e| StoreError::io(&path, e))?;
        sync_dir(self.path());
        Ok(())
    }

    fn cookies_path(&self) -> PathBuf {
        self.path().join(COOKIES_FILE)
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use crate::{Store, StoreError, StoreOptions};

    #[test]
    fn the_jar_is_saved_whole_for_its_owner_and_read_back_after_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), StoreOptions::default()).unwrap();
        assert_eq!(store.cookie_jar().unwrap(), None);
        store.save_cookie_jar(b"first\n").unwrap();
        store.save_cookie_jar(b"second\n").unwrap();
        assert_eq!(
            store.cookie_jar().unwrap().as_deref(),
            Some(&b"second\n"[..])
        );
        let mode = std::fs::metadata(dir.path().join("cookies.jar"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        drop(store);
        let store = Store::open(dir.path(), StoreOptions::read_only()).unwrap();
        assert_eq!(
            store.cookie_jar().unwrap().as_deref(),
            Some(&b"second\n"[..])
        );
        assert!(matches!(
            store.save_cookie_jar(b"x"),
            Err(StoreError::ReadOnly { .. })
        ));
    }
}
