//! [`CrawlError`]: why a crawl could not start or had to end early. A module of its
//! own so that the crawl, its builder and its handle all name it without naming each
//! other.

use crawler_storage::StoreError;

use crate::fetch::ClientBuildError;
use crate::ConfigError;

/// Why a crawl could not start or had to end early.
#[derive(Debug, thiserror::Error)]
pub enum CrawlError {
    #[error(transparent)]
    /// A setting is invalid (it names the setting).
    Config(#[from] ConfigError),
    #[error(transparent)]
    /// The store could not be opened, or refused a write.
    Store(#[from] StoreError),
    #[error(transparent)]
    /// The HTTP client could not be built.
    Client(#[from] ClientBuildError),
    #[error(transparent)]
    /// A seed list could not be read, or has a bad line its handler did not skip.
    Seeds(#[from] crate::seeds::SeedError),
    #[error(transparent)]
    /// The cluster's Redis is unreachable or refused this node (a setting that
    /// conflicts with the crawl's, a bad URL).
    Cluster(#[from] crawler_cluster::ClusterError),
    #[error("cannot start a thread: {0}")]
    /// A thread could not be started.
    Thread(#[from] std::io::Error),
    /// The crawl's own thread panicked (a bug; hooks' panics are caught per page).
    #[error("the crawl thread panicked: {0}")]
    Panicked(String),
}
