//! Reading a store on media this process cannot write (a read-only mount, a
//! snapshot, an archive's directory owned by someone else).
//!
//! sled 0.34 has no read-only mode: it opens its `db` file for writing and takes a
//! lock on it. When that fails because the directory cannot be written, a reader
//! copies sled's own files (`conf`, `db`, its snapshots and `blobs/`, which hold the
//! records and keys but not the bodies) into a private temporary directory and opens
//! the copy; every other file of the store (bodies, runs, queue files) is read in
//! place. The copy lives as long as the [`crate::Store`] and is removed with it.

use std::io;
use std::path::Path;

use crate::StoreError;

/// Whether `source` says the store's directory cannot be written by this process.
pub(crate) fn is_unwritable(source: &sled::Error) -> bool {
    matches!(source, sled::Error::Io(e)
        if matches!(e.kind(), io::ErrorKind::ReadOnlyFilesystem | io::ErrorKind::PermissionDenied))
}

/// Copies sled's files of the store at `store` into a new temporary directory.
pub(crate) fn copy_sled_files(store: &Path) -> Result<tempfile::TempDir, StoreError> {
    let copy = tempfile::Builder::new()
        .prefix("crawler-read-only-")
        .tempdir()
        .map_err(|e| StoreError::io(&std::env::temp_dir(), e))?;
    let entries = std::fs::read_dir(store).map_err(|e| StoreError::io(store, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| StoreError::io(store, e))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let is_snapshot = name.starts_with("snap.") && !name.ends_with(".generating");
        let from = entry.path();
        if name == "conf" || name == "db" || is_snapshot {
            std::fs::copy(&from, copy.path().join(name)).map_err(|e| StoreError::io(&from, e))?;
        } else if name == "blobs" && from.is_dir() {
            copy_dir(&from, &copy.path().join(name))?;
        }
    }
    Ok(copy)
}

fn copy_dir(from: &Path, to: &Path) -> Result<(), StoreError> {
    std::fs::create_dir_all(to).map_err(|e| StoreError::io(to, e))?;
    for entry in std::fs::read_dir(from).map_err(|e| StoreError::io(from, e))? {
        let entry = entry.map_err(|e| StoreError::io(from, e))?;
        let source = entry.path();
        let target = to.join(entry.file_name());
        if source.is_dir() {
            copy_dir(&source, &target)?;
        } else {
            std::fs::copy(&source, &target).map_err(|e| StoreError::io(&source, e))?;
        }
    }
    Ok(())
}
