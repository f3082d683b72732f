//! [`Store::footprint`]: the store's bytes on disk per part beside the live data each
//! part holds, so that what the layout costs over the data it keeps can be read off
//! (BENCHMARKS.md, "Querying a stored crawl").
//!
//! Live data is what a store that wasted nothing would hold: sled's keys and values
//! (a page's key and pointers, the metadata and totals), every part a record points
//! to as stored (its record, body, outlinks and heads, frame heads included), the
//! page index's entries and the inlink index's postings that the records imply, and
//! 16 bytes a seen mark. Superseded versions of a record, its stale index entries and
//! parts no record points to any more are not live. The frontier is left out of both
//! sides: a finished crawl's is empty.

use serde::Serialize;

use super::Store;
use crate::codec::{keys, page_value};
use crate::index::page_keys::page_keys;
use crate::StoreError;

/// Bytes of each part of a store.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct PartBytes {
    /// sled's database (its files; its keys and values for live data).
    pub sled: u64,
    /// The body log: every page's record, body, outlinks and HTTP heads.
    pub bodies: u64,
    /// The page index (by host, status, error kind, fetch time).
    pub index: u64,
    /// The inlink index.
    pub inlinks: u64,
    /// The seen-set.
    pub seen: u64,
}

impl PartBytes {
    /// The sum of the parts.
    pub fn total(&self) -> u64 {
        self.sled + self.bodies + self.index + self.inlinks + self.seen
    }
}

/// A store's size on disk and the live data it holds, part by part.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Footprint {
    /// Bytes of each part's files.
    pub on_disk: PartBytes,
    /// Bytes of the live data each part holds.
    pub live: PartBytes,
}

/// Bytes of one inlink posting (`crate::index::inlinks`).
const POSTING: u64 = 16;
/// Bytes of one seen mark.
const MARK: u64 = 16;

impl Store {
    /// The store's bytes on disk and the live data it holds. Reads every record: it
    /// costs about what an export does.
    pub fn footprint(&self) -> Result<Footprint, StoreError> {
        // Whole folders: a reader does not open the page index's log, but it is there.
        let folder = |name: &str| crate::files::dir_size(&self.path.join(name));
        let on_disk = PartBytes {
            sled: self.db.size_on_disk()?,
            bodies: folder("bodies"),
            index: folder("index"),
            inlinks: folder("inlinks"),
            seen: folder("seen"),
        };
        let mut live = PartBytes {
            seen: self.seen.count()? * MARK,
            ..PartBytes::default()
        };
        for entry in self.tree().iter() {
            let (key, value) = entry?;
            live.sled += (key.len() + value.len()) as u64;
            if key.first() != Some(&keys::PAGE) {
                continue;
            }
            let (parts, at) = page_value::decode(&key, &value)?;
            let page = page_value::read_record(&key, at, &self.bodies)?;
            let logged = match at {
                page_value::RecordAt::Logged(pointer) => Some(pointer),
                page_value::RecordAt::Inline(_) => None,
            };
            live.bodies += (parts.all().into_iter().chain([logged]))
                .flatten()
                .map(|pointer| u64::from(pointer.len))
                .sum::<u64>();
            live.index += page_keys(&page).iter().map(|k| k.len() as u64).sum::<u64>();
            live.inlinks += u64::from(page.outlinks) * POSTING;
        }
        Ok(Footprint { on_disk, live })
    }
}
