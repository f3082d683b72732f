//! What a write hands the store's writer: its sled changes in order, the page records
//! among them, and the seen marks that must follow them. Its own module because the
//! writer, its write log, the running totals and the store all speak it.

use crate::record::PageRecord;

/// Key changes in order; the last change to a key wins, as in a sled batch.
#[derive(Default)]
pub(crate) struct Changes(Vec<(Vec<u8>, Option<Vec<u8>>)>);

impl Changes {
    pub(crate) fn insert(&mut self, key: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>) {
        self.0.push((key.into(), Some(value.into())));
    }

    pub(crate) fn remove(&mut self, key: impl Into<Vec<u8>>) {
        self.0.push((key.into(), None));
    }

    pub(crate) fn entries(&self) -> &[(Vec<u8>, Option<Vec<u8>>)] {
        &self.0
    }

    pub(crate) fn add_to(self, batch: &mut sled::Batch) {
        for (key, value) in self.0 {
            match value {
                Some(value) => batch.insert(key, value),
                None => batch.remove(key),
            }
        }
    }
}

/// One write's share of a round.
#[derive(Default)]
pub(crate) struct Submission {
    /// The sled changes (records, cursors).
    pub(crate) changes: Changes,
    /// The records among the changes, by their `p` key: pending until applied, counted
    /// in the totals (and the records they replace counted out), and indexed.
    pub(crate) records: Vec<(Vec<u8>, PageRecord)>,
    /// Seen marks to write once the changes are applied (of URLs settled by a record).
    pub(crate) marks: Vec<u128>,
}

impl Submission {
    /// What it adds to a round: its changes and its marks.
    pub(crate) fn weight(&self) -> usize {
        self.changes.0.len() + self.marks.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.changes.0.is_empty() && self.marks.is_empty()
    }
}
