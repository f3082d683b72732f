//! The frame that the store's append-only files are made of:
//! `[u32 length][u32 xxh3 checksum][payload]`, little-endian.
//!
//! A kill in the middle of an append leaves a frame cut short at a file's end, and a
//! damaged disk can flip its bits; the length and the checksum let a reader tell a
//! whole frame from either, and stop there.

/// The bytes before a frame's payload: its length and its checksum.
pub(crate) const HEAD_LEN: usize = 8;

/// The checksum of a frame's payload: the low 32 bits of its xxh3-64.
pub(crate) fn checksum(payload: &[u8]) -> u32 {
    xxhash_rust::xxh3::xxh3_64(payload) as u32
}

/// Appends the frame of `payload` to `out`.
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

/// The payloads of the whole frames at the start of `bytes`, up to the first torn or
/// damaged one.
pub(crate) fn frames(bytes: &[u8]) -> impl Iterator<Item = &[u8]> + '_ {
    let mut rest = bytes;
    std::iter::from_fn(move || {
        let head: [u8; HEAD_LEN] = rest.get(..HEAD_LEN)?.try_into().ok()?;
        let (len, sum) = parse_head(head);
        let payload = rest.get(HEAD_LEN..)?.get(..len as usize)?;
        if checksum(payload) != sum {
            return None;
        }
        rest = &rest[HEAD_LEN + payload.len()..];
        Some(payload)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_read_back_up_to_a_torn_or_flipped_one() {
        let mut bytes = Vec::new();
        for payload in [&b"one"[..], b"", b"three"] {
            push(&mut bytes, payload);
        }
        let whole: Vec<&[u8]> = frames(&bytes).collect();
        assert_eq!(whole, [&b"one"[..], b"", b"three"]);
        let torn = &bytes[..bytes.len() - 1];
        assert_eq!(frames(torn).count(), 2);
        let mut flipped = bytes.clone();
        flipped[HEAD_LEN + 1] ^= 0x10;
        assert_eq!(frames(&flipped).count(), 0);
    }
}
