//! How an index's run file comes to be (its format is `crate::index::sorted_run`'s):
//! written under a temporary name, synced, renamed to `NNNNNNNN.run` and its directory
//! synced, so a run file under its final name is whole. A kill before the rename leaves a temporary file, and one after it a run the
//! manifest may not name yet; `crate::index::manifest` deletes both at open.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::StoreError;

/// Bytes buffered before a write to the temporary file.
const BUFFER: usize = 256 * 1024;

/// Where run `id` of the index in `dir` lives.
pub(crate) fn path(dir: &Path, id: u64) -> PathBuf {
    dir.join(format!("{id:08}.run"))
}

/// The id of a run file's name (`NNNNNNNN.run`); `None` for any other name.
pub(crate) fn id_of(name: &str) -> Option<u64> {
    name.strip_suffix(".run")?.parse().ok()
}

/// Whether a file name is a temporary run file's.
pub(crate) fn is_temporary(name: &str) -> bool {
    name.ends_with(".tmp")
}

/// A run file being written, under its temporary name until [`RunWriter::finish`].
pub(crate) struct RunWriter {
    dir: PathBuf,
    tmp: PathBuf,
    path: PathBuf,
    out: BufWriter<File>,
}

impl RunWriter {
    /// Starts run `id` in `dir` (a temporary file, emptied if it was there).
    pub(crate) fn create(dir: &Path, id: u64) -> Result<RunWriter, StoreError> {
        let path = path(dir, id);
        let tmp = path.with_extension("tmp");
        let file = OpenOptions::new()
            .create(true)
            .truncate(true)
            .write(true)
            .open(&tmp)
            .map_err(|e| StoreError::io(&tmp, e))?;
        Ok(RunWriter {
            dir: dir.to_path_buf(),
            tmp,
            path,
            out: BufWriter::with_capacity(BUFFER, file),
        })
    }

    /// Appends bytes to the run.
    pub(crate) fn write(&mut self, bytes: &[u8]) -> Result<(), StoreError> {
        self.out
            .write_all(bytes)
            .map_err(|e| StoreError::io(&self.tmp, e))
    }

    /// Makes the run whole under its final name: flushed, synced, renamed, and its
    /// directory synced. Returns its path.
    pub(crate) fn finish(self) -> Result<PathBuf, StoreError> {
        let tmp = self.tmp;
        let written = self
            .out
            .into_inner()
            .map_err(|e| StoreError::io(&tmp, e.into_error()))?;
        written.sync_all().map_err(|e| StoreError::io(&tmp, e))?;
        drop(written);
        std::fs::rename(&tmp, &self.path).map_err(|e| StoreError::io(&self.path, e))?;
        crate::files::sync_dir(&self.dir);
        Ok(self.path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_is_under_its_final_name_only_once_finished() {
        let dir = tempfile::tempdir().unwrap();
        let mut run = RunWriter::create(dir.path(), 7).unwrap();
        run.write(b"sorted").unwrap();
        assert!(!path(dir.path(), 7).exists());
        let name = |entry: std::fs::DirEntry| entry.file_name().into_string().unwrap();
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| name(e.unwrap()))
            .collect();
        assert!(names.iter().all(|n| is_temporary(n)), "{names:?}");
        let done = run.finish().unwrap();
        assert_eq!(done, path(dir.path(), 7));
        assert_eq!(std::fs::read(&done).unwrap(), b"sorted");
        assert_eq!(id_of("00000007.run"), Some(7));
        assert_eq!(id_of("00000007.tmp"), None);
    }
}
