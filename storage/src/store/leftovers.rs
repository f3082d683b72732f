//! What an interrupted sled leaves behind that would keep the store from opening.
//!
//! sled 0.34 writes a snapshot to `snap.<lsn>.generating`, syncs it and renames it to
//! `snap.<lsn>`. A full disk (or a kill) between the two leaves the `.generating` file,
//! and sled's next open reads the snapshot file whose name sorts last, that one, and
//! fails with "corrupt snapshot file" for good. The file is by construction an
//! incomplete snapshot: sled recovers from the previous snapshot and its log without
//! it. It is removed before sled opens, and only while nobody holds sled's lock (a
//! running sled may be writing it).

use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use crate::StoreError;

/// Removes sled's incomplete snapshots (`snap.*.generating`) from the store at `path`
/// when no process has it open; returns the files removed.
pub(crate) fn remove_incomplete_snapshots(path: &Path) -> Result<Vec<PathBuf>, StoreError> {
    let Ok(entries) = std::fs::read_dir(path) else {
        return Ok(Vec::new());
    };
    let leftovers: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("snap.") && n.ends_with(".generating"))
        })
        .collect();
    if leftovers.is_empty() {
        return Ok(leftovers);
    }
    // sled's lock is an exclusive `flock` on its `db` file; holding it here means no
    // sled has the store open. Released when `db` is closed, before sled opens.
    let Ok(db) = File::open(path.join("db")) else {
        return Ok(Vec::new());
    };
    // SAFETY: `flock` takes a descriptor and flags and touches no memory of ours; the
    // descriptor stays open for the call because `db` is borrowed for it.
    let locked = unsafe { libc::flock(db.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0;
    if !locked {
        return Ok(Vec::new());
    }
    for leftover in &leftovers {
        std::fs::remove_file(leftover).map_err(|e| StoreError::io(leftover, e))?;
    }
    crate::files::sync_dir(path);
    drop(db);
    Ok(leftovers)
}

#[cfg(test)]
mod tests {
    use crate::store::tests::page;
    use crate::{PageWrite, Store, StoreOptions};

    #[test]
    fn a_store_with_an_incomplete_sled_snapshot_opens_with_its_pages() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store");
        {
            let store = Store::open(&path, StoreOptions::default()).unwrap();
            let records = [(0, page("http://a.test/", 200))];
            let write = PageWrite {
                settled: &records,
                ..PageWrite::default()
            };
            store.write_page(&write).unwrap();
        }
        // What a full disk left: a snapshot cut short before its rename.
        std::fs::write(path.join("snap.00000000FFFFFFFF.generating"), b"cut").unwrap();

        let reader = Store::open(&path, StoreOptions::read_only()).unwrap();
        assert!(reader.page("http://a.test/").unwrap().is_some());
        drop(reader);
        let store = Store::open(&path, StoreOptions::default()).unwrap();
        assert!(store.page("http://a.test/").unwrap().is_some());
        assert!(!path.join("snap.00000000FFFFFFFF.generating").exists());
    }

    #[test]
    fn a_store_in_use_keeps_its_snapshot_being_written() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store");
        let _open = Store::open(&path, StoreOptions::default()).unwrap();
        let generating = path.join("snap.00000000FFFFFFFF.generating");
        std::fs::write(&generating, b"being written").unwrap();
        assert!(super::remove_incomplete_snapshots(&path)
            .unwrap()
            .is_empty());
        assert!(generating.exists());
    }
}
