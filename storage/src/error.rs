//! [`StoreError`]: every way opening, reading or writing a store can fail, one typed
//! error for the whole crate, so that callers (the engine, the CLI) can tell a store in
//! use or of another format from damage or an I/O failure.

use std::path::{Path, PathBuf};

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
    /// sled could not open the database. (These messages say the cause's words, so the
    /// cause is no `source()`, and its field is not named `source`: a chain printer
    /// would say it twice.)
    #[error("store {path}: {error}{}", damage_hint(path, error))]
    Open { path: PathBuf, error: sled::Error },
    /// A file of the store (a body segment) could not be read or written.
    #[error("store {path}: {error}")]
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
    /// sled failed while reading or writing ([`StoreError::in_store`] names the store).
    #[error("store{}: the sled database failed: {error}{}",
        path.as_ref().map(|p| format!(" {}", p.display())).unwrap_or_default(),
        path.as_ref().map(|p| damage_hint(p, error)).unwrap_or_default())]
    Sled {
        path: Option<PathBuf>,
        error: sled::Error,
    },
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
    /// A write of a part of a page the store holds no record of (a rendering of a
    /// page whose own write failed).
    #[error("store: {url} has no record to add its {part} to")]
    NoRecord { url: String, part: &'static str },
    /// A file of the store fails its check at `offset` (a flipped bit, a cut file): what
    /// it holds there is not served. `url` is the page it belongs to, when known.
    #[error(
        "store {}: {} is damaged at byte {offset}{}: {what}; {}",
        store.display(),
        file.display(),
        url.as_deref().map(|u| format!(" ({u})")).unwrap_or_default(),
        what_to_do(store)
    )]
    Damaged {
        store: PathBuf,
        file: PathBuf,
        offset: u64,
        url: Option<String>,
        what: String,
    },
}

impl From<sled::Error> for StoreError {
    fn from(error: sled::Error) -> StoreError {
        StoreError::Sled { path: None, error }
    }
}

impl StoreError {
    /// Damage in `file` (a file of the store at `store`) at `offset`.
    pub(crate) fn damaged(store: &Path, file: &Path, offset: u64, what: &str) -> StoreError {
        StoreError::Damaged {
            store: store.to_path_buf(),
            file: file.to_path_buf(),
            offset,
            url: None,
            what: what.to_owned(),
        }
    }

    /// This error, naming the page `url` when it is damage that does not name one yet.
    pub(crate) fn of_page(self, url: &str) -> StoreError {
        match self {
            StoreError::Damaged {
                store,
                file,
                offset,
                url: None,
                what,
            } => StoreError::Damaged {
                store,
                file,
                offset,
                url: Some(url.to_owned()),
                what,
            },
            other => other,
        }
    }

    /// This error, naming the store at `path` when it is sled's and names none yet.
    pub fn in_store(self, path: &Path) -> StoreError {
        match self {
            StoreError::Sled { path: None, error } => StoreError::Sled {
                path: Some(path.to_path_buf()),
                error,
            },
            other => other,
        }
    }

    /// An I/O error on one of the store's own files.
    pub(crate) fn io(path: &std::path::Path, error: std::io::Error) -> StoreError {
        StoreError::Io {
            path: path.to_path_buf(),
            error,
        }
    }
}

/// What a user does about damage to the store at `store`.
fn what_to_do(store: &Path) -> String {
    format!(
        "run `crawler check --store {0}` to list the damage and `crawler repair --store {0}` to rebuild what can be",
        store.display()
    )
}

/// [`what_to_do`] after sled's own report of damage; nothing after its other errors.
fn damage_hint(store: &Path, source: &sled::Error) -> String {
    match source {
        sled::Error::Corruption { .. } => format!("; {}", what_to_do(store)),
        _ => String::new(),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sled_error_is_said_once_and_names_the_store_it_is_put_in() {
        let corrupt = sled::Error::Corruption { at: None, bt: () };
        let error = StoreError::from(corrupt).in_store(Path::new("crawl.store"));
        assert!(std::error::Error::source(&error).is_none(), "said once");
        let message = error.to_string();
        assert!(message.starts_with("store crawl.store: "), "{message}");
        assert!(
            message.contains("crawler repair --store crawl.store"),
            "{message}"
        );
    }
}
