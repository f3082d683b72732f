//! The frame every append-only file of the store is made of (the body log, the queue
//! files, the write log, the page index's log, the inlink index's log):
//! `[u32 length][u32 checksum][payload]`, little-endian, the checksum being the low 32
//! bits of the payload's xxh3-64.
//!
//! A kill in the middle of an append leaves a frame cut short at a file's end, and a
//! damaged disk can flip bits anywhere; the length and the checksum let a reader tell
//! a whole frame from either, and stop there (or, reading one frame where a pointer
//! says it is, report it damaged). One frame for every file means one reader to trust.

use std::io::Read;

/// The bytes before a frame's payload: its length and its checksum.
pub(crate) const HEAD_LEN: usize = 8;

/// The checksum of a frame's payload: the low 32 bits of its xxh3-64.
pub(crate) fn checksum(payload: &[u8]) -> u32 {
    xxhash_rust::xxh3::xxh3_64(payload) as u32
}

/// How many bytes the frame of a payload of `len` bytes takes.
pub(crate) fn framed_len(len: usize) -> usize {
    HEAD_LEN + len
}

/// Appends the frame of `payload` to `out`. Every caller's payloads are far below
/// 4 GiB (callers that take arbitrary bytes check first).
pub(crate) fn push(out: &mut Vec<u8>, payload: &[u8]) {
    let len = u32::try_from(payload.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&checksum(payload).to_le_bytes());
    out.extend_from_slice(payload);
}

/// The length and checksum of a frame's head.
pub(crate) fn parse_head(head: [u8; HEAD_LEN]) -> (u32, u32) {
    let [l0, l1, l2, l3, c0, c1, c2, c3] = head;
    (
        u32::from_le_bytes([l0, l1, l2, l3]),
        u32::from_le_bytes([c0, c1, c2, c3]),
    )
}

/// The payload of `framed` when it is exactly one whole frame whose checksum holds.
pub(crate) fn payload(framed: &[u8]) -> Option<&[u8]> {
    let head: [u8; HEAD_LEN] = framed.get(..HEAD_LEN)?.try_into().ok()?;
    let (len, sum) = parse_head(head);
    let payload = &framed[HEAD_LEN..];
    (payload.len() == len as usize && checksum(payload) == sum).then_some(payload)
}

/// The frames at the start of a byte slice, up to the first torn or damaged one.
pub(crate) struct Frames<'a> {
    bytes: &'a [u8],
    end: usize,
}

/// The payloads of the whole frames at the start of `bytes`.
pub(crate) fn frames(bytes: &[u8]) -> Frames<'_> {
    Frames { bytes, end: 0 }
}

impl Frames<'_> {
    /// How many bytes the frames read so far take: where a torn or damaged one starts
    /// once the iterator is done.
    #[cfg(test)]
    pub(crate) fn end(&self) -> usize {
        self.end
    }
}

impl<'a> Iterator for Frames<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let rest = self.bytes.get(self.end..)?;
        let head: [u8; HEAD_LEN] = rest.get(..HEAD_LEN)?.try_into().ok()?;
        let (len, sum) = parse_head(head);
        let payload = rest.get(HEAD_LEN..)?.get(..len as usize)?;
        if checksum(payload) != sum {
            return None;
        }
        self.end += framed_len(payload.len());
        Some(payload)
    }
}

/// What [`scan`] finds in a file of frames, in order.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Scanned<'a> {
    /// A whole frame starting at `at`.
    Frame { at: usize, payload: &'a [u8] },
    /// `len` bytes from `at` that are no whole frame, with a whole frame after them:
    /// damage, not a torn end.
    Damaged { at: usize, len: usize },
}

/// The frames of `bytes` (payloads up to `max_payload`), going on past damage: after a
/// bad frame, the next offset where a whole frame starts is where reading resumes (a
/// 32-bit checksum makes a false start unlikely). Bad bytes with no whole frame after
/// them are a torn end, left out: the second value is where the frames end.
pub(crate) fn scan(bytes: &[u8], max_payload: u32) -> (Vec<Scanned<'_>>, usize) {
    let mut found = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        if let Some(payload) = whole_at(bytes, at, max_payload) {
            found.push(Scanned::Frame { at, payload });
            at += framed_len(payload.len());
            continue;
        }
        match (at + 1..bytes.len()).find(|&next| whole_at(bytes, next, max_payload).is_some()) {
            Some(next) => {
                found.push(Scanned::Damaged { at, len: next - at });
                at = next;
            }
            None => break,
        }
    }
    (found, at)
}

/// The payload of the whole frame at `at` of `bytes`, if one starts there.
fn whole_at(bytes: &[u8], at: usize, max_payload: u32) -> Option<&[u8]> {
    let head: [u8; HEAD_LEN] = bytes.get(at..at + HEAD_LEN)?.try_into().ok()?;
    let (len, sum) = parse_head(head);
    if len > max_payload {
        return None;
    }
    let payload = bytes.get(at + HEAD_LEN..at + HEAD_LEN + len as usize)?;
    (checksum(payload) == sum).then_some(payload)
}

/// Reads the next frame's payload into `payload`; returns the frame's length, or
/// `None` at the end of the input or at a frame that is torn, damaged, or longer
/// than `max_payload` (a damaged length). Only the input's own errors are errors.
pub(crate) fn read(
    input: &mut impl Read,
    payload: &mut Vec<u8>,
    max_payload: u32,
) -> std::io::Result<Option<u64>> {
    let mut head = [0u8; HEAD_LEN];
    if !fill(input, &mut head)? {
        return Ok(None);
    }
    let (len, sum) = parse_head(head);
    if len > max_payload {
        return Ok(None);
    }
    payload.resize(len as usize, 0);
    if !fill(input, payload)? || checksum(payload) != sum {
        return Ok(None);
    }
    Ok(Some(framed_len(payload.len()) as u64))
}

/// Fills `buf`; false when the input ends first.
fn fill(input: &mut impl Read, buf: &mut [u8]) -> std::io::Result<bool> {
    match input.read_exact(buf) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(false),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn three_frames() -> Vec<u8> {
        let mut bytes = Vec::new();
        for payload in [&b"one"[..], b"", b"three"] {
            push(&mut bytes, payload);
        }
        bytes
    }

    fn read_all(mut input: &[u8]) -> Vec<Vec<u8>> {
        let mut found = Vec::new();
        let mut payload = Vec::new();
        while read(&mut input, &mut payload, 1 << 20).unwrap().is_some() {
            found.push(payload.clone());
        }
        found
    }

    #[test]
    fn frames_read_back_up_to_a_torn_or_flipped_one() {
        let bytes = three_frames();
        let mut whole = frames(&bytes);
        assert_eq!(
            whole.by_ref().collect::<Vec<_>>(),
            [&b"one"[..], b"", b"three"]
        );
        assert_eq!(whole.end(), bytes.len());
        assert_eq!(read_all(&bytes), [&b"one"[..], b"", b"three"]);

        let torn = &bytes[..bytes.len() - 1];
        let mut cut = frames(torn);
        assert_eq!(cut.by_ref().count(), 2);
        assert_eq!(cut.end(), 2 * HEAD_LEN + 3);
        assert_eq!(read_all(torn).len(), 2);

        for at in [1, HEAD_LEN - 1, HEAD_LEN + 1] {
            let mut flipped = bytes.clone();
            flipped[at] ^= 0x10;
            assert_eq!(frames(&flipped).count(), 0, "flip at {at}");
            assert!(read_all(&flipped).is_empty(), "flip at {at}");
        }
    }

    #[test]
    fn a_scan_goes_on_past_damage_and_stops_at_a_torn_end() {
        let bytes = three_frames();
        let (whole, end) = scan(&bytes, 1 << 20);
        assert_eq!(whole.len(), 3);
        assert_eq!(end, bytes.len());

        let mut flipped = bytes.clone();
        flipped[HEAD_LEN + 1] ^= 0x10;
        let (found, end) = scan(&flipped, 1 << 20);
        assert_eq!(
            found,
            [
                Scanned::Damaged {
                    at: 0,
                    len: HEAD_LEN + 3
                },
                Scanned::Frame {
                    at: HEAD_LEN + 3,
                    payload: b""
                },
                Scanned::Frame {
                    at: 2 * HEAD_LEN + 3,
                    payload: b"three"
                },
            ]
        );
        assert_eq!(end, bytes.len());

        let torn = &bytes[..bytes.len() - 1];
        let (found, end) = scan(torn, 1 << 20);
        assert_eq!(found.len(), 2);
        assert_eq!(end, 2 * HEAD_LEN + 3);
    }

    #[test]
    fn one_frame_is_checked_whole() {
        let mut framed = Vec::new();
        push(&mut framed, b"payload");
        assert_eq!(payload(&framed), Some(&b"payload"[..]));
        assert_eq!(payload(&framed[..framed.len() - 1]), None);
        framed[HEAD_LEN] ^= 1;
        assert_eq!(payload(&framed), None);
    }
}
