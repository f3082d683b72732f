//! The value stored under `p` + URL: where the page's parts are in the body log (its
//! record, body, outlinks and HTTP heads). Nothing else: since format 10 the
//! [`PageRecord`] is a part like the others.
//!
//! A page was four sled keys (record, body pointer, outlinks, heads); it is one. sled
//! splits a leaf at 16 keys and keeps every leaf in its page table, which it rebuilds
//! each time a store is opened, so the keys per page set both the time a query
//! command spends opening a store and sled's memory. The bytes per key count too:
//! sled rewrites whole leaves as it compacts and keeps several versions of a leaf in
//! its log-structured file, so a value of a few hundred bytes cost about four times
//! that on disk, and its page table rebuild at open grew with the file. So every
//! part of a page, its record included, is written once to the body log, like bodies,
//! and sled keeps only pointers: tens of bytes a page.
//!
//! Crash behaviour is the body log's: the record is appended with the page's other
//! parts, in the same write, before the sled batch that points at it; a kill in
//! between leaves unreferenced bytes in the log, which cost space and nothing else,
//! and a pointer in sled never runs ahead of its bytes.
//!
//! Layout: one byte of flags (bit 0 body, 1 outlinks, 2 HTTP heads, 3 record: which
//! parts the page has; bit 4: the short layout; bit 5 history, bit 6 the last visit's
//! heads: parts only a revisit writes, always in the long layout; bit 7 a rendering,
//! `crawl --render`: two parts, what it found and its DOM, written after the page, so
//! in the long layout too). The short layout is what a page write
//! leaves, its parts side by side in one segment in the order body, record, outlinks,
//! heads: the segment (4 bytes) and offset (8) of the first, then each part's length
//! (4 bytes each), 17 to 29 bytes in all. Otherwise (a part dropped by a repair) a
//! 16-byte [`BodyPointer`] follows for each part present, in the order of the bits
//! (the record's after the heads', then history and visit heads, then the rendering's
//! two). Bit 7 is format 13's: an older build refuses such a value as damaged.
//! Formats 5 to 9 had no record pointer (bit 3 clear) and the record as JSON after the
//! pointers; such values are still read ([`RecordAt::Inline`]).

use crate::codec::json::{from_json, to_json};
use crate::codec::{keys, part};
use crate::files::body_log::{BodyLog, BodyPointer};
use crate::record::PageRecord;
use crate::StoreError;

/// Where a page's parts are in the body log; `None` for a part it does not have.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Parts {
    /// The body, encoded by `crate::codec::part::encode`.
    pub body: Option<BodyPointer>,
    /// The outlinks, one per line, encoded like bodies.
    pub outlinks: Option<BodyPointer>,
    /// The [`crate::HttpExchange`] as JSON, encoded like bodies: the head of the
    /// response that brought the body.
    pub exchange: Option<BodyPointer>,
    /// The visits before the record's, newest first (`crate::codec::history`).
    pub history: Option<BodyPointer>,
    /// The last visit's [`crate::HttpExchange`], when that visit kept the content of
    /// an earlier one (a 304, or the same payload) and `exchange` is that one's.
    pub visit: Option<BodyPointer>,
    /// The page's rendering (`crate::Rendering` as JSON, encoded like bodies) and its
    /// DOM (encoded like bodies): both or neither.
    pub rendering: Option<(BodyPointer, BodyPointer)>,
}

impl Parts {
    fn each(&self) -> [Option<BodyPointer>; 3] {
        [self.body, self.outlinks, self.exchange]
    }

    /// Every part but the record: body, outlinks, heads, history, visit heads, the
    /// rendering and its DOM.
    pub fn all(&self) -> [Option<BodyPointer>; 7] {
        [
            self.body,
            self.outlinks,
            self.exchange,
            self.history,
            self.visit,
            self.rendering.map(|(found, _)| found),
            self.rendering.map(|(_, dom)| dom),
        ]
    }

    /// The parts only a revisit writes, after the record's pointer.
    fn revisit_parts(&self) -> [(u8, Option<BodyPointer>); 2] {
        [(HISTORY, self.history), (VISIT, self.visit)]
    }
}

/// Where a stored value's record is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordAt<'a> {
    /// A part in the body log, encoded by [`encode_record`] (format 10 on).
    Logged(BodyPointer),
    /// JSON in the value itself, after the pointers (formats 5 to 9).
    Inline(&'a [u8]),
}

/// The flag bit of the record pointer; the three below it are the other parts'.
const RECORD: u8 = 1 << 3;
/// The flag bit of the short layout: the parts lie side by side in one segment.
const ADJACENT: u8 = 1 << 4;
/// The flag bits of the history and of the last visit's heads.
const HISTORY: u8 = 1 << 5;
const VISIT: u8 = 1 << 6;
/// The flag bit of a rendering (two pointers).
const RENDERED: u8 = 1 << 7;
/// Bytes of a part's length in the short layout.
const LEN: usize = 4;

/// The record as a body log part: its JSON, encoded like bodies (LZ4 when smaller).
pub fn encode_record(record: &PageRecord) -> Vec<u8> {
    part::encode(&to_json(record))
}

/// The stored value of a page whose record is at `record`, with `parts`.
pub fn encode(parts: &Parts, record: RecordAt<'_>) -> Vec<u8> {
    let mut flags = 0u8;
    for (bit, part) in parts.each().iter().enumerate() {
        if part.is_some() {
            flags |= 1 << bit;
        }
    }
    let inline = match record {
        RecordAt::Logged(pointer) => {
            let in_order = [parts.body, Some(pointer), parts.outlinks, parts.exchange];
            let revisited =
                parts.history.is_some() || parts.visit.is_some() || parts.rendering.is_some();
            if let Some(first) = side_by_side(&in_order).filter(|_| !revisited) {
                let mut value = Vec::with_capacity(1 + 12 + 4 * LEN);
                value.push(flags | RECORD | ADJACENT);
                value.extend_from_slice(&first.segment.to_be_bytes());
                value.extend_from_slice(&first.offset.to_be_bytes());
                for part in in_order.into_iter().flatten() {
                    value.extend_from_slice(&part.len.to_be_bytes());
                }
                return value;
            }
            flags |= RECORD;
            &[][..]
        }
        RecordAt::Inline(json) => json,
    };
    let mut value = Vec::with_capacity(1 + 4 * BodyPointer::ENCODED_LEN + inline.len());
    value.push(flags);
    for pointer in parts.each().into_iter().flatten() {
        value.extend_from_slice(&pointer.encode());
    }
    if let RecordAt::Logged(pointer) = record {
        value.extend_from_slice(&pointer.encode());
        for (bit, part) in parts.revisit_parts() {
            if let Some(part) = part {
                value[0] |= bit;
                value.extend_from_slice(&part.encode());
            }
        }
        if let Some((found, dom)) = parts.rendering {
            value[0] |= RENDERED;
            value.extend_from_slice(&found.encode());
            value.extend_from_slice(&dom.encode());
        }
    }
    value.extend_from_slice(inline);
    value
}

/// The first of the parts present when each starts where the one before it ends, in
/// one segment: what one append of a page's parts leaves.
fn side_by_side(in_order: &[Option<BodyPointer>; 4]) -> Option<BodyPointer> {
    let mut present = in_order.iter().flatten();
    let first = *present.next()?;
    let mut end = first.offset.checked_add(u64::from(first.len))?;
    for part in present {
        if part.segment != first.segment || part.offset != end {
            return None;
        }
        end = part.offset.checked_add(u64::from(part.len))?;
    }
    Some(first)
}

/// The parts of a stored value and where its record is.
pub fn decode<'a>(key: &[u8], value: &'a [u8]) -> Result<(Parts, RecordAt<'a>), StoreError> {
    let corrupt = |reason: &str| StoreError::Corrupt {
        key: keys::url_of(key),
        reason: reason.to_owned(),
    };
    let (&flags, mut rest) = value
        .split_first()
        .ok_or_else(|| corrupt("empty page record"))?;
    let revisited = flags & (HISTORY | VISIT | RENDERED) != 0;
    if (flags & ADJACENT != 0 && (flags & RECORD == 0 || revisited))
        || (revisited && flags & RECORD == 0)
    {
        return Err(corrupt("unknown parts in a page record"));
    }
    if flags & ADJACENT != 0 {
        return decode_adjacent(flags, rest)
            .ok_or_else(|| corrupt("a page record's part pointers do not decode"));
    }
    let mut found = [None; 8];
    // The rendering's bit stands for its two pointers.
    for (slot, bit) in found.iter_mut().zip([0, 1, 2, 3, 5, 6, 7, 7]) {
        if flags & (1 << bit) == 0 {
            continue;
        }
        let (bytes, after) = rest
            .split_at_checked(BodyPointer::ENCODED_LEN)
            .ok_or_else(|| corrupt("a page record ends inside its part pointers"))?;
        *slot = BodyPointer::decode(bytes);
        rest = after;
    }
    let [body, outlinks, exchange, record, history, visit, found, dom] = found;
    let record = match record {
        Some(_) if !rest.is_empty() => {
            return Err(corrupt("bytes after the pointers of a page record"))
        }
        Some(pointer) => RecordAt::Logged(pointer),
        None => RecordAt::Inline(rest),
    };
    let parts = Parts {
        body,
        outlinks,
        exchange,
        history,
        visit,
        rendering: found.zip(dom),
    };
    Ok((parts, record))
}

/// The short layout after the flags: segment, offset of the first part, then the
/// length of each part present in the order body, record, outlinks, heads.
fn decode_adjacent(flags: u8, rest: &[u8]) -> Option<(Parts, RecordAt<'static>)> {
    let (segment, rest) = rest.split_first_chunk::<4>()?;
    let (offset, mut rest) = rest.split_first_chunk::<8>()?;
    let segment = u32::from_be_bytes(*segment);
    let mut offset = u64::from_be_bytes(*offset);
    let mut found = [None; 4];
    // Bits in the order the parts lie: body, record, outlinks, heads.
    for (slot, bit) in found.iter_mut().zip([0, 3, 1, 2]) {
        if flags & (1 << bit) == 0 {
            continue;
        }
        let (len, after) = rest.split_first_chunk::<LEN>()?;
        let len = u32::from_be_bytes(*len);
        *slot = Some(BodyPointer {
            segment,
            offset,
            len,
        });
        offset = offset.checked_add(u64::from(len))?;
        rest = after;
    }
    let [body, record, outlinks, exchange] = found;
    let parts = Parts {
        body,
        outlinks,
        exchange,
        ..Parts::default()
    };
    rest.is_empty()
        .then_some((parts, RecordAt::Logged(record?)))
}

/// The record at `record`, read from `bodies` when it is there.
pub fn read_record(
    key: &[u8],
    record: RecordAt<'_>,
    bodies: &BodyLog,
) -> Result<PageRecord, StoreError> {
    read_json(key, record, bodies)
}

/// The record at `record` as `T` (the whole record, or some of its fields).
fn read_json<T: serde::de::DeserializeOwned>(
    key: &[u8],
    record: RecordAt<'_>,
    bodies: &BodyLog,
) -> Result<T, StoreError> {
    match record {
        RecordAt::Inline(json) => from_json(key, json),
        RecordAt::Logged(pointer) => {
            let url = keys::url_of(key);
            let framed = bodies.read(pointer).map_err(|e| e.of_page(&url))?;
            from_json(key, &part::decode(&url, &framed)?)
        }
    }
}

/// The record of a stored value (one read of the body log) and where its parts are.
pub fn record_and_parts(
    key: &[u8],
    value: &[u8],
    bodies: &BodyLog,
) -> Result<(PageRecord, Parts), StoreError> {
    let (parts, record) = decode(key, value)?;
    Ok((read_record(key, record, bodies)?, parts))
}

/// When a stored value's record was fetched: its record's one field a queued refetch
/// is settled by, read without building the rest of the record (a recrawl asks it of
/// every entry its queue files hold as they are read and compacted).
pub fn fetched_at(key: &[u8], value: &[u8], bodies: &BodyLog) -> Result<u64, StoreError> {
    #[derive(serde::Deserialize)]
    struct FetchedAt {
        fetched_at_ms: u64,
    }
    let (_, at) = decode(key, value)?;
    Ok(read_json::<FetchedAt>(key, at, bodies)?.fetched_at_ms)
}

/// The record of a stored value.
pub fn record(key: &[u8], value: &[u8], bodies: &BodyLog) -> Result<PageRecord, StoreError> {
    Ok(record_and_parts(key, value, bodies)?.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pointer(offset: u64) -> BodyPointer {
        BodyPointer {
            segment: 2,
            offset,
            len: 10,
        }
    }

    fn some_parts() -> [Parts; 3] {
        [
            Parts::default(),
            Parts {
                body: Some(pointer(5)),
                outlinks: None,
                exchange: Some(pointer(70)),
                ..Parts::default()
            },
            Parts {
                body: Some(pointer(1)),
                outlinks: Some(pointer(2)),
                exchange: Some(pointer(3)),
                ..Parts::default()
            },
        ]
    }

    #[test]
    fn a_value_reads_back_with_the_parts_and_record_pointer_it_was_stored_with() {
        for stored in some_parts() {
            let value = encode(&stored, RecordAt::Logged(pointer(900)));
            let (parts, record) = decode(b"pk", &value).unwrap();
            assert_eq!(parts, stored);
            assert_eq!(record, RecordAt::Logged(pointer(900)));
            assert!(value.len() <= 1 + 4 * BodyPointer::ENCODED_LEN);
        }
    }

    #[test]
    fn a_revisit_or_rendered_value_reads_back_with_its_history_visit_heads_and_rendering() {
        let stored = Parts {
            body: Some(pointer(1)),
            outlinks: Some(pointer(11)),
            exchange: Some(pointer(21)),
            history: Some(pointer(500)),
            visit: Some(pointer(600)),
            rendering: Some((pointer(700), pointer(710))),
        };
        for parts in [
            stored,
            Parts {
                visit: None,
                ..stored
            },
            Parts {
                history: None,
                visit: None,
                ..stored
            },
            Parts {
                rendering: None,
                ..stored
            },
            Parts {
                body: None,
                history: None,
                ..stored
            },
        ] {
            let value = encode(&parts, RecordAt::Logged(pointer(31)));
            assert_eq!(
                decode(b"pk", &value).unwrap(),
                (parts, RecordAt::Logged(pointer(31)))
            );
            for cut in 1..value.len() {
                assert!(decode(b"pk", &value[..cut]).is_err(), "{cut}");
            }
        }
    }

    #[test]
    fn parts_side_by_side_take_the_short_layout_and_read_back() {
        let at = |offset, len| BodyPointer {
            segment: 7,
            offset,
            len,
        };
        // Body, record, outlinks, heads as one append leaves them; a settled record.
        let whole = Parts {
            body: Some(at(100, 50)),
            outlinks: Some(at(180, 20)),
            exchange: Some(at(200, 40)),
            ..Parts::default()
        };
        let cases = [
            (whole, at(150, 30), 1 + 12 + 4 * LEN),
            (Parts::default(), at(9, 30), 1 + 12 + LEN),
            (
                Parts {
                    outlinks: None,
                    ..whole
                },
                at(150, 30),
                // A part dropped between two: the full pointers.
                1 + 3 * BodyPointer::ENCODED_LEN,
            ),
        ];
        for (stored, record, len) in cases {
            let value = encode(&stored, RecordAt::Logged(record));
            assert_eq!(value.len(), len);
            assert_eq!(
                decode(b"pk", &value).unwrap(),
                (stored, RecordAt::Logged(record))
            );
            for cut in 1..value.len() {
                assert!(decode(b"pk", &value[..cut]).is_err(), "{cut}");
            }
        }
    }

    #[test]
    fn a_format_9_value_with_its_record_inline_still_reads() {
        let dir = tempfile::tempdir().unwrap();
        let bodies = BodyLog::open(dir.path());
        let record = PageRecord {
            status: Some(200),
            ..PageRecord::new("http://a.test/", "a.test", 0)
        };
        for stored in some_parts() {
            // Format 9's encoding: flags, pointers, then the JSON.
            let value = encode(&stored, RecordAt::Inline(&to_json(&record)));
            assert_eq!(value[0] & RECORD, 0);
            let (read, parts) = record_and_parts(b"pk", &value, &bodies).unwrap();
            assert_eq!((read, parts), (record.clone(), stored));
        }
    }

    #[test]
    fn a_damaged_value_is_an_error_naming_its_key() {
        let dir = tempfile::tempdir().unwrap();
        let bodies = BodyLog::open(dir.path());
        let record = PageRecord::new("http://a.test/", "a.test", 0);
        let [logged] = bodies
            .append_all(&[Some(&encode_record(&record)[..])])
            .unwrap()[..]
        else {
            panic!("one part appended, one pointer back")
        };
        let logged = logged.unwrap();
        let parts = Parts {
            body: Some(pointer(0)),
            ..Parts::default()
        };
        let inline = encode(&parts, RecordAt::Inline(&to_json(&record)));
        let value = encode(&Parts::default(), RecordAt::Logged(logged));
        assert_eq!(
            self::record(b"phttp://a.test/", &value, &bodies).unwrap(),
            record
        );
        let mut trailing = value.clone();
        trailing.push(b'{');
        let wrong_len = encode(
            &Parts::default(),
            RecordAt::Logged(BodyPointer {
                len: logged.len + 1,
                ..logged
            }),
        );
        for damaged in [
            &inline[..0],
            &inline[..9],
            &[0x80u8, b'{', b'}'][..],
            &value[..10],
            &trailing,
            &wrong_len,
        ] {
            let error = match self::record(b"phttp://a.test/", damaged, &bodies) {
                Err(error) => error.to_string(),
                Ok(record) => panic!("read {record:?} from a damaged value"),
            };
            assert!(error.contains("http://a.test/"), "{error}");
        }
    }
}
