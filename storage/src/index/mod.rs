//! The indexes a store keeps beside sled: the page index (pages by host, status,
//! error kind and fetch time) and the inlink index (who links to a URL).
//!
//! Both are append-only logs folded into immutable sorted runs of one format
//! (`sorted_run`: byte-ordered keys, checksummed blocks, a sparse index) and merged in
//! the background by one merger (`merger`), with a manifest in sled that says which
//! runs count (`manifest`). What a key means, the log and the reads are each index's
//! own (`page_index`, `inlinks`). Both only propose: a query keeps an entry only when
//! the record it names still implies it, so nothing is ever removed from them.

pub(crate) mod inlinks;
pub(crate) mod manifest;
pub(crate) mod merger;
pub(crate) mod page_index;
pub(crate) mod page_keys;
pub(crate) mod run_file;
pub(crate) mod sorted_run;
