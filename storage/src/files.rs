//! Small helpers shared by the store's own files (body log, queue files, fingerprint
//! table, inlink index).

use std::path::Path;

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
