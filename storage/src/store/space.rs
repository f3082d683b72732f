//! Free space on the store's filesystem: a crawl stops before the disk is full.
//!
//! A write that meets a full disk can leave files cut short (sled's snapshot among
//! them), so [`Store::write_page`](crate::Store::write_page) refuses to write once
//! the filesystem holding the store has less than the minimum free
//! ([`StoreError::LowOnSpace`]): the crawl stops as on any store failure, with every
//! page written so far whole, and resumes once space is freed. The filesystem is asked
//! (`statvfs`) at most every [`CHECK_EVERY`], not per write. A write that meets a full
//! disk all the same is reported as [`StoreError::DiskFull`], with what was free.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::StoreError;

/// How often the free space is looked up at most.
pub const CHECK_EVERY: Duration = Duration::from_millis(200);
/// The default minimum: 1% of the filesystem, at most this.
pub const DEFAULT_MIN_FREE_CAP: u64 = 100 << 20;

/// A filesystem's size and what an unprivileged process may still write to it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FsSpace {
    /// Bytes available to this process.
    pub free: u64,
    /// The filesystem's size in bytes.
    pub total: u64,
}

/// The space of the filesystem holding `path` (which must exist).
// `statvfs`'s fields are `u64` on 64-bit Linux, narrower elsewhere.
#[allow(clippy::useless_conversion)]
pub fn fs_space(path: &Path) -> std::io::Result<FsSpace> {
    use std::os::unix::ffi::OsStrExt;
    let c_path = std::ffi::CString::new(path.as_os_str().as_bytes())
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
    // SAFETY: all-zero bytes are a valid `statvfs` (integers only).
    let mut stats: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `c_path` is a NUL-terminated string alive for the call, and `stats` a
    // live, writable `statvfs` the call fills in.
    if unsafe { libc::statvfs(c_path.as_ptr(), &mut stats) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    let unit = u64::from(stats.f_frsize);
    Ok(FsSpace {
        free: u64::from(stats.f_bavail).saturating_mul(unit),
        total: u64::from(stats.f_blocks).saturating_mul(unit),
    })
}

/// The default minimum free space for a filesystem of `total` bytes.
pub fn default_min_free(total: u64) -> u64 {
    (total / 100).min(DEFAULT_MIN_FREE_CAP)
}

/// Whether `error` is a disk (or quota) that is full.
pub(crate) fn is_out_of_space(error: &StoreError) -> bool {
    let full = |e: &std::io::Error| matches!(e.raw_os_error(), Some(libc::ENOSPC | libc::EDQUOT));
    match error {
        StoreError::Io { error, .. } => full(error),
        StoreError::Sled {
            error: sled::Error::Io(error),
            ..
        } => full(error),
        StoreError::DiskFull { .. } | StoreError::LowOnSpace { .. } => false,
        // The writer and the indexes' threads keep their failures as text: the
        // system's own words for ENOSPC.
        other => {
            let text = other.to_string();
            [libc::ENOSPC, libc::EDQUOT]
                .into_iter()
                .any(|errno| text.contains(&std::io::Error::from_raw_os_error(errno).to_string()))
        }
    }
}

/// The store's check of its filesystem's free space.
pub(crate) struct SpaceGuard {
    path: PathBuf,
    /// Below this, writes are refused; 0: never.
    min: u64,
    last: Mutex<Last>,
}

struct Last {
    at: Option<Instant>,
    /// The free space found under the minimum: every later write is refused.
    low: Option<u64>,
}

impl SpaceGuard {
    /// `min`: bytes to keep free; `None`: [`default_min_free`] of the filesystem.
    pub(crate) fn new(path: &Path, min: Option<u64>) -> SpaceGuard {
        let min =
            min.unwrap_or_else(|| fs_space(path).map_or(0, |space| default_min_free(space.total)));
        SpaceGuard {
            path: path.to_path_buf(),
            min,
            last: Mutex::new(Last {
                at: None,
                low: None,
            }),
        }
    }

    /// Fails once the filesystem has less than the minimum free.
    pub(crate) fn check(&self) -> Result<(), StoreError> {
        if self.min == 0 {
            return Ok(());
        }
        // Two fields, each whole after any panic.
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(free) = last.low {
            return Err(self.low(free));
        }
        if last.at.is_some_and(|at| at.elapsed() < CHECK_EVERY) {
            return Ok(());
        }
        last.at = Some(Instant::now());
        let free = fs_space(&self.path)
            .map_err(|e| StoreError::io(&self.path, e))?
            .free;
        if free < self.min {
            last.low = Some(free);
            return Err(self.low(free));
        }
        Ok(())
    }

    fn low(&self, free: u64) -> StoreError {
        StoreError::LowOnSpace {
            path: self.path.clone(),
            free,
            min: self.min,
        }
    }

    /// `error` as [`StoreError::DiskFull`] when it is a full disk, with the space free now.
    pub(crate) fn explain(&self, error: StoreError) -> StoreError {
        if !is_out_of_space(&error) {
            return error;
        }
        let free = fs_space(&self.path).map_or(0, |space| space.free);
        StoreError::DiskFull {
            path: self.path.clone(),
            free,
            reason: error.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_minimum_is_a_hundredth_of_the_disk_up_to_100_mib() {
        assert_eq!(default_min_free(1 << 30), (1 << 30) / 100);
        assert_eq!(default_min_free(1 << 40), 100 << 20);
    }

    #[test]
    fn a_minimum_above_the_free_space_refuses_and_names_the_store() {
        let dir = tempfile::tempdir().unwrap();
        let guard = SpaceGuard::new(dir.path(), Some(u64::MAX));
        let error = guard.check().unwrap_err().to_string();
        assert!(error.contains(&dir.path().display().to_string()), "{error}");
        assert!(error.contains("free"), "{error}");
        assert!(SpaceGuard::new(dir.path(), Some(1)).check().is_ok());
    }
}
