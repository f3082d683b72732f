//! [`StoreError`]: every way opening, reading or writing a store can fail, one typed
//! error for the whole crate, so that callers (the engine, the CLI) can tell a store in
//! use or of another format from damage or an I/O failure.

use std::path::PathBuf;

/// Why the store could not be opened, read or written.
///
/// Every message names the store (or the damaged key) and reads as one line.
// The variants' fields are what their messages show; they need no docs of their own.
#[allow(missing_docs)]
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The store path names a file.
    #[error("store {path}: is not a directory")]
    NotADirectory { path: PathBuf },
    /// Nothing at the path, and the store was not to be created.
    #[error("store {path}: does not exist")]
    Missing { path: PathBuf },
    /// A directory with other things in it; it is left alone.
    #[error("store {path}: the directory is not empty and is not a crawl store")]
    NotAStore { path: PathBuf },
    /// The path cannot hold a store: a part of it is a file, or the directory cannot
    /// be read (`reason` says which, naming the part).
    #[error("store {path}: {reason}")]
    Unusable { path: PathBuf, reason: String },
    /// Another process has the store open (sled locks it exclusively): normally a
    /// crawl that is running. `holder` describes that process when it said who it is.
    #[error(
        "store {path}: in use by another process{}: one process at a time can open a store, and a running crawl keeps it open until it finishes or is stopped",
        holder.as_deref().map(|h| format!(" ({h})")).unwrap_or_default()
    )]
    InUse {
        path: PathBuf,
        holder: Option<String>,
    },
    /// Written by another version of the crawler.
    #[error("store {path}: format version {found} is not supported (this build reads version {supported})")]
    UnsupportedFormat {
        path: PathBuf,
        found: String,
        supported: u32,
    },
    /// A write to a store opened for reading only ([`crate::StoreOptions::read_only`]).
    #[error("store {path}: opened for reading only; it cannot be written")]
    ReadOnly { path: PathBuf },
    /// sled could not open the database.
    #[error("store {path}: {source}")]
    Open {
        path: PathBuf,
        #[source]
        source: sled::Error,
    },
    /// A file of the store (a body segment) could not be read or written.
    #[error("store {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// sled failed while reading or writing.
    #[error("store: {0}")]
    Sled(#[from] sled::Error),
    /// A write of the store's records failed earlier in this process; nothing is
    /// written after it (see `crate::writer`).
    #[error(
        "store: a write of page records failed ({reason}); nothing more is written to this store"
    )]
    WriteFailed { reason: String },
    /// The filesystem holding the store has less free than the minimum to keep free;
    /// nothing more is written (`crate::store::space`).
    #[error(
        "store {path}: only {} free on its filesystem, under the {} kept free: the crawl stops here, every page written so far is kept; free some space (or lower --min-free-space) and crawl again to resume",
        human(*free), human(*min)
    )]
    LowOnSpace { path: PathBuf, free: u64, min: u64 },
    /// A write met a full disk (or quota).
    #[error(
        "store {path}: the disk is full ({} free on its filesystem): {reason}; free some space and crawl again to resume",
        human(*free)
    )]
    DiskFull {
        path: PathBuf,
        free: u64,
        reason: String,
    },
    /// A record that does not decode: the store is damaged (or was edited).
    #[error("store: damaged record under key {key:?}: {reason}")]
    Corrupt { key: String, reason: String },
}

impl StoreError {
    /// An I/O error on one of the store's own files.
    pub(crate) fn io(path: &std::path::Path, source: std::io::Error) -> StoreError {
        StoreError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// `bytes` for people: `1.5 MiB`.
fn human(bytes: u64) -> String {
    let units = [(1u64 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")];
    match units.into_iter().find(|(size, _)| bytes >= *size) {
        Some((size, unit)) => format!("{:.1} {unit}", bytes as f64 / size as f64),
        None => format!("{bytes} bytes"),
    }
}
