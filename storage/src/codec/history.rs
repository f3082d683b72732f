//! A URL's history: the visits before its current record, as a chain of parts in the
//! body log, newest first.
//!
//! A revisit appends one small part, a *link*: the visit its write replaces and where
//! the link before it is. So a visit costs the store tens of bytes whatever the number
//! of visits before it (a history rewritten whole on each visit would cost a write
//! growing with every visit), and reading a URL's history is one read per visit, which
//! only `crawler get --history` does. The link also lists the older bodies kept by
//! `--keep-versions`, newest first: only the newest link's list counts, so the bodies
//! that fall out of it are no longer reachable.

use serde::{Deserialize, Serialize};

use crate::codec::json::{from_json, to_json};
use crate::codec::part;
use crate::files::body_log::BodyPointer;
use crate::record::Visit;
use crate::StoreError;

/// One link of the chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Link {
    /// The visit.
    pub visit: Visit,
    /// The link of the visit before it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub older: Option<Place>,
    /// The older bodies kept (`--keep-versions`), newest first: when each was
    /// captured, and where it is.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub versions: Vec<(u64, Place)>,
}

/// A [`BodyPointer`] as the JSON of a link spells it: segment, offset, length.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Place(u32, u64, u32);

impl From<BodyPointer> for Place {
    fn from(pointer: BodyPointer) -> Place {
        Place(pointer.segment, pointer.offset, pointer.len)
    }
}

impl From<Place> for BodyPointer {
    fn from(Place(segment, offset, len): Place) -> BodyPointer {
        BodyPointer {
            segment,
            offset,
            len,
        }
    }
}

/// A link as a body log part.
pub fn encode(link: &Link) -> Vec<u8> {
    part::encode(&to_json(link))
}

/// A link read back from its part (`url` names it in errors).
pub fn decode(url: &str, framed: &[u8]) -> Result<Link, StoreError> {
    let json = part::decode(url, framed)?;
    from_json(url.as_bytes(), &json)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::files::body_log::BodyLog;
    use crate::record::Change;

    #[test]
    fn a_link_reads_back_from_the_body_log() {
        let dir = tempfile::tempdir().unwrap();
        let bodies = BodyLog::open(dir.path());
        let link = Link {
            visit: Visit {
                fetched_at_ms: 7,
                status: Some(304),
                change: Some(Change::NotModified),
                ..Visit::default()
            },
            older: Some(Place(1, 2, 3)),
            versions: vec![(5, Place(0, 10, 20))],
        };
        let at = bodies.append(&encode(&link)).unwrap();
        let read = decode("http://a.test/", &bodies.read(at).unwrap()).unwrap();
        assert_eq!(read, link);
        assert!(decode("http://a.test/", b"nonsense").is_err());
    }
}
