//! The files a store keeps beside sled for what would make sled grow with every URL
//! or every byte: the body log (`body_log`), the frontier's queue files
//! (`queue_files`), the seen-set's table (`seen_table`), the frame every append-only
//! file is made of (`frame`), and small helpers they and the indexes share (below).

pub(crate) mod body_log;
pub(crate) mod frame;
pub(crate) mod handles;
pub(crate) mod queue_buckets;
pub(crate) mod queue_entry;
pub(crate) mod queue_files;
pub(crate) mod queue_plan;
pub(crate) mod seen_table;

use std::fs::{File, OpenOptions};
use std::path::Path;

use crate::StoreError;

/// Makes a rename or a file created in `dir` durable, as far as the filesystem lets a
/// directory be synced (errors are ignored: some do not, and the data itself is synced).
pub(crate) fn sync_dir(dir: &Path) {
    if let Ok(handle) = File::open(dir) {
        let _ = handle.sync_all();
    }
}

/// Asks the kernel to start writing `len` bytes of `file` from `offset` to disk, and
/// returns without waiting. A hint only: a later `sync_data` is what makes the bytes
/// durable, and it then has little left to wait for (the body log's final sync took
/// 0.2 s of a 50,000-page crawl, all of it written in that one call). Errors are
/// ignored for the same reason: the sync reports them.
#[cfg(target_os = "linux")]
pub(crate) fn start_writeback(file: &File, offset: u64, len: u64) {
    use std::os::fd::AsRawFd;
    let (Ok(offset), Ok(len)) = (
        libc::off64_t::try_from(offset),
        libc::off64_t::try_from(len),
    ) else {
        return;
    };
    // SAFETY: `sync_file_range` takes a file descriptor and integers and touches no
    // memory of ours; the descriptor is open for the whole call because `file` is
    // borrowed for it.
    unsafe { libc::sync_file_range(file.as_raw_fd(), offset, len, libc::SYNC_FILE_RANGE_WRITE) };
}

#[cfg(not(target_os = "linux"))]
pub(crate) fn start_writeback(_file: &File, _offset: u64, _len: u64) {}

/// Writes `bytes` as the whole of `path`: to a temporary file beside it, synced, then
/// renamed over it, so that a kill leaves the old file or the new one, never a mix.
pub(crate) fn write_whole(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(".tmp");
    let temporary = std::path::PathBuf::from(temporary);
    let write = || -> std::io::Result<()> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let mut file = handles::open_retrying(|| File::create(&temporary), || {})?;
        std::io::Write::write_all(&mut file, bytes)?;
        file.sync_data()?;
        std::fs::rename(&temporary, path)
    };
    write().map_err(|e| StoreError::io(path, e))?;
    if let Some(dir) = path.parent() {
        sync_dir(dir);
    }
    Ok(())
}

/// The bytes of `path`; `None` when there is no such file.
pub(crate) fn read_whole(path: &Path) -> Result<Option<Vec<u8>>, StoreError> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(StoreError::io(path, e)),
    }
}

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
    let open = || {
        OpenOptions::new()
            .create_new(true)
            .read(true)
            .write(true)
            .open(path)
    };
    handles::open_retrying(open, || {}).map_err(|e| StoreError::io(path, e))
}
