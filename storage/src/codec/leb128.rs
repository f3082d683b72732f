//! LEB128: an unsigned number in 7-bit groups, low group first, the high bit of each
//! byte set while more follow. Lengths in index runs and keys, and host page counts,
//! are mostly below 128, so they take one byte.

/// Appends `value`.
pub(crate) fn push(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// The number at the start of `bytes` and the bytes it took, if it ends within
/// `max_bytes` bytes (and within `bytes`).
pub(crate) fn read(bytes: &[u8], max_bytes: usize) -> Option<(u64, usize)> {
    let mut value = 0u64;
    for (i, byte) in bytes.iter().take(max_bytes.min(10)).enumerate() {
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Some((value, i + 1));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_come_back_and_a_cut_one_is_none() {
        for value in [0, 1, 127, 128, 300, 1 << 35, u64::MAX] {
            let mut out = Vec::new();
            push(&mut out, value);
            assert_eq!(read(&out, 10), Some((value, out.len())), "{value}");
            assert_eq!(read(&out[..out.len() - 1], 10), None, "{value} cut");
        }
        let mut five = Vec::new();
        push(&mut five, 1 << 30);
        assert_eq!(five.len(), 5);
        assert_eq!(read(&five, 4), None, "longer than allowed");
    }
}
