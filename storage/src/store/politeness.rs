//! The hosts' politeness state (delays, backoff), kept in `politeness.state` so that a
//! resumed crawl starts each host from how it was treated.
//!
//! The store does not read it: the engine hands over a snapshot as bytes and gets them
//! back. It is written whole (a temporary file, synced, then renamed over the old
//! one), so a kill leaves the previous snapshot or the new one.

use std::path::PathBuf;

use super::Store;
use crate::files::{read_whole, write_whole};
use crate::StoreError;

const POLITENESS_FILE: &str = "politeness.state";

impl Store {
    /// The snapshot last saved with [`Store::save_politeness`], if any.
    pub fn politeness(&self) -> Result<Option<Vec<u8>>, StoreError> {
        read_whole(&self.politeness_path())
    }

    /// Replaces the saved snapshot with `snapshot`, durably: a crash leaves this one
    /// or the one before, never a mix.
    pub fn save_politeness(&self, snapshot: &[u8]) -> Result<(), StoreError> {
        self.check_writable()?;
        write_whole(&self.politeness_path(), snapshot)
    }

    fn politeness_path(&self) -> PathBuf {
        self.path().join(POLITENESS_FILE)
    }
}

#[cfg(test)]
mod tests {
    use crate::{Store, StoreError, StoreOptions};

    #[test]
    fn the_snapshot_is_replaced_whole_and_read_back_after_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), StoreOptions::default()).unwrap();
        assert_eq!(store.politeness().unwrap(), None);
        store.save_politeness(b"first\n").unwrap();
        store.save_politeness(b"second\n").unwrap();
        drop(store);
        let store = Store::open(dir.path(), StoreOptions::read_only()).unwrap();
        assert_eq!(
            store.politeness().unwrap().as_deref(),
            Some(&b"second\n"[..])
        );
        assert!(matches!(
            store.save_politeness(b"x"),
            Err(StoreError::ReadOnly { .. })
        ));
    }
}
