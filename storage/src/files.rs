//! Small helpers shared by the store's own files (body log, queue files, fingerprint
//! table, inlink index).

use std::fs::{File, OpenOptions};
use std::path::Path;

use crate::StoreError;

/// Bytes of the files directly in `dir` (0 when it does not exist yet).
pub(crate) fn dir_size(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .filter_map(|entry| entry.ok()?.metadata().ok())
        .map(|meta| meta.len())
        .sum()
}

/// A new segment file at `path`, for reading and writing; an existing file is an error.
pub(crate) fn create_segment(path: &Path) -> Result<File, StoreError> {
    OpenOptions::new()
        .create_new(true)
        .read(true)
        .write(true)
        .open(path)
        .map_err(|e| StoreError::io(path, e))
}
