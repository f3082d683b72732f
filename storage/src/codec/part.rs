//! Value encoding for bulky text: bodies and outlink lists are stored LZ4-compressed
//! when that makes them smaller.
//!
//! HTML and lists of URLs shrink two to eight times, which cuts the bytes written
//! (and the store on disk) by as much; LZ4 costs far less CPU than the write it saves.

use crate::StoreError;

const RAW: u8 = 0;
const LZ4: u8 = 1;
/// No stored body decompresses to more than this; a larger claim means damage.
const MAX_DECODED: usize = 1 << 31;

/// The stored form of `body`: one codec byte, then the payload.
pub fn encode(body: &[u8]) -> Vec<u8> {
    let size = u32::try_from(body.len()).ok().filter(|_| body.len() >= 256);
    if let Some(size) = size {
        // Compressed in place after the codec byte and the size: one allocation.
        let header = 1 + 4;
        let mut value = vec![0; header + lz4_flex::block::get_maximum_output_size(body.len())];
        value[0] = LZ4;
        value[1..header].copy_from_slice(&size.to_le_bytes());
        if let Ok(written) = lz4_flex::block::compress_into(body, &mut value[header..]) {
            if header + written < body.len() + 1 {
                value.truncate(header + written);
                return value;
            }
        }
    }
    let mut value = Vec::with_capacity(body.len() + 1);
    value.push(RAW);
    value.extend_from_slice(body);
    value
}

/// The body a stored value holds.
pub fn decode(url: &str, value: &[u8]) -> Result<Vec<u8>, StoreError> {
    let corrupt = |reason: String| StoreError::Corrupt {
        key: url.to_owned(),
        reason,
    };
    match value.split_first() {
        Some((&RAW, body)) => Ok(body.to_vec()),
        Some((&LZ4, payload)) => {
            let claimed = payload
                .get(..4)
                .and_then(|b| <[u8; 4]>::try_from(b).ok())
                .map(u32::from_le_bytes)
                .ok_or_else(|| corrupt("compressed body shorter than its header".into()))?;
            if usize::try_from(claimed).unwrap_or(usize::MAX) > MAX_DECODED {
                return Err(corrupt(format!("compressed body claims {claimed} bytes")));
            }
            let body =
                lz4_flex::decompress_size_prepended(payload).map_err(|e| corrupt(e.to_string()))?;
            if body.len() as u64 != u64::from(claimed) {
                return Err(corrupt(format!(
                    "compressed body gave {} of {claimed} bytes",
                    body.len()
                )));
            }
            Ok(body)
        }
        Some((codec, _)) => Err(corrupt(format!("unknown body codec {codec}"))),
        None => Err(corrupt("empty body value".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_small_large_and_incompressible_bodies() {
        let html = "<p>hello world</p>".repeat(500).into_bytes();
        let noise: Vec<u8> = (0..4096u32)
            .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
            .collect();
        for body in [&b""[..], b"tiny", &html, &noise] {
            assert_eq!(decode("u", &encode(body)).unwrap(), body);
        }
        assert!(encode(&html).len() < html.len() / 4, "HTML must compress");
    }

    #[test]
    fn damaged_values_are_errors_not_panics() {
        for value in [
            &[][..],
            &[9, 1, 2][..],
            &[LZ4, 1][..],
            &[LZ4, 255, 255, 255, 255, 0][..],
            &[LZ4, 10, 0, 0, 0, 1][..],
        ] {
            assert!(decode("u", value).is_err(), "{value:?}");
        }
    }
}
