//! The value stored under `p` + URL: where the page's bulky parts are in the body log
//! (its body, its outlinks, its HTTP heads), then its record as JSON.
//!
//! A page was four sled keys (record, body pointer, outlinks, heads); it is one. sled
//! splits a leaf at 16 keys and keeps every leaf in its page table, which it rebuilds
//! each time a store is opened, so the keys per page set both the time a query
//! command spends opening a store and sled's memory. The outlinks and heads, a
//! kilobyte or more per page, are also out of the leaves sled rewrites as it
//! compacts: they are written once to the body log, like bodies.
//!
//! Layout: one byte of flags (which parts follow), a [`BodyPointer`] for each part
//! present in the order body, outlinks, heads, then the [`PageRecord`] as JSON.

use crate::codec::json::from_json;
use crate::codec::keys;
use crate::files::body_log::BodyPointer;
use crate::record::PageRecord;
use crate::StoreError;

/// Where a page's parts are in the body log; `None` for a part it does not have.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Parts {
    /// The body, encoded by `crate::codec::part::encode`.
    pub body: Option<BodyPointer>,
    /// The outlinks, one per line, encoded like bodies.
    pub outlinks: Option<BodyPointer>,
    /// The [`crate::HttpExchange`] as JSON, encoded like bodies.
    pub exchange: Option<BodyPointer>,
}

impl Parts {
    fn each(&self) -> [Option<BodyPointer>; 3] {
        [self.body, self.outlinks, self.exchange]
    }
}

/// The stored value of `record` with `parts`.
pub fn encode(record: &PageRecord, parts: &Parts) -> Vec<u8> {
    let json = crate::codec::json::to_json(record);
    let mut value = Vec::with_capacity(1 + 3 * BodyPointer::ENCODED_LEN + json.len());
    let mut flags = 0u8;
    for (bit, part) in parts.each().iter().enumerate() {
        if part.is_some() {
            flags |= 1 << bit;
        }
    }
    value.push(flags);
    for pointer in parts.each().into_iter().flatten() {
        value.extend_from_slice(&pointer.encode());
    }
    value.extend_from_slice(&json);
    value
}

/// The parts of a stored value, and where its JSON starts.
pub fn parts(key: &[u8], value: &[u8]) -> Result<(Parts, usize), StoreError> {
    let corrupt = |reason: &str| StoreError::Corrupt {
        key: keys::url_of(key),
        reason: reason.to_owned(),
    };
    let (&flags, mut rest) = value
        .split_first()
        .ok_or_else(|| corrupt("empty page record"))?;
    if flags >> 3 != 0 {
        return Err(corrupt("unknown parts in a page record"));
    }
    let mut found = [None; 3];
    for (bit, slot) in found.iter_mut().enumerate() {
        if flags & (1 << bit) == 0 {
            continue;
        }
        let (bytes, after) = rest
            .split_at_checked(BodyPointer::ENCODED_LEN)
            .ok_or_else(|| corrupt("a page record ends inside its part pointers"))?;
        *slot = BodyPointer::decode(bytes);
        rest = after;
    }
    let [body, outlinks, exchange] = found;
    let parts = Parts {
        body,
        outlinks,
        exchange,
    };
    Ok((parts, value.len() - rest.len()))
}

/// The record of a stored value.
pub fn record(key: &[u8], value: &[u8]) -> Result<PageRecord, StoreError> {
    Ok(record_and_parts(key, value)?.0)
}

/// The record of a stored value and where its parts are.
pub fn record_and_parts(key: &[u8], value: &[u8]) -> Result<(PageRecord, Parts), StoreError> {
    let (parts, json_at) = parts(key, value)?;
    Ok((from_json(key, &value[json_at..])?, parts))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_reads_back_with_the_parts_it_was_stored_with() {
        let record = PageRecord {
            status: Some(200),
            ..PageRecord::new("http://a.test/", "a.test", 0)
        };
        let pointer = |offset| BodyPointer {
            segment: 2,
            offset,
            len: 10,
        };
        for stored in [
            Parts::default(),
            Parts {
                body: Some(pointer(5)),
                outlinks: None,
                exchange: Some(pointer(70)),
            },
            Parts {
                body: Some(pointer(1)),
                outlinks: Some(pointer(2)),
                exchange: Some(pointer(3)),
            },
        ] {
            let value = encode(&record, &stored);
            assert_eq!(parts(b"pk", &value).unwrap().0, stored);
            assert_eq!(self::record(b"pk", &value).unwrap(), record);
        }
    }

    #[test]
    fn a_damaged_value_is_an_error_naming_its_key() {
        let record = PageRecord::new("http://a.test/", "a.test", 0);
        let value = encode(
            &record,
            &Parts {
                body: Some(BodyPointer {
                    segment: 0,
                    offset: 0,
                    len: 1,
                }),
                ..Parts::default()
            },
        );
        for damaged in [&value[..0], &value[..9], &[0x80u8, b'{', b'}'][..]] {
            let error = record_error(damaged);
            assert!(error.contains("http://a.test/"), "{error}");
        }
    }

    fn record_error(value: &[u8]) -> String {
        match record(b"phttp://a.test/", value) {
            Err(error) => error.to_string(),
            Ok(record) => panic!("read {record:?} from a damaged value"),
        }
    }
}
