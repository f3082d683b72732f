use std::path::PathBuf;

/// Why the store could not be opened, read or written.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("store {path}: is not a directory")]
    NotADirectory { path: PathBuf },
    #[error("store {path}: does not exist")]
    Missing { path: PathBuf },
    #[error("store {path}: the directory is not empty and is not a crawl store")]
    NotAStore { path: PathBuf },
    #[error("store {path}: in use by another process (a crawl may be running on it)")]
    InUse { path: PathBuf },
    #[error("store {path}: format version {found} is not supported (this build reads version {supported})")]
    UnsupportedFormat {
        path: PathBuf,
        found: String,
        supported: u32,
    },
    #[error("store {path}: {source}")]
    Open {
        path: PathBuf,
        #[source]
        source: sled::Error,
    },
    #[error("store {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("store: {0}")]
    Sled(#[from] sled::Error),
    #[error("store: damaged record under key {key:?}: {reason}")]
    Corrupt { key: String, reason: String },
}
