//! Every host's key in a few large strings: a key costs its bytes and the 8 of where
//! it ends, where a `String` of its own costs 24 more and an allocation. A broad crawl
//! has a million. The text is kept in pieces of [`PIECE`] bytes, each filled and
//! never moved, so it never holds a doubled string (34 MB for 20 MB of keys).

use std::ops::Index;

use super::chunked::Chunked;
use crate::messages::HostId;

/// Bytes of text per piece; a longer key gets a piece of its own size.
const PIECE: usize = 1 << 20;

#[derive(Default)]
pub(super) struct HostKeys {
    pieces: Vec<String>,
    /// Where each key is, by host id: its piece and its end in it (it starts where
    /// the previous key ends, or at 0 in a new piece).
    ends: Chunked<(u32, u32)>,
}

impl HostKeys {
    /// Adds the key of the next host id.
    pub(super) fn push(&mut self, key: &str) {
        let fits = self
            .pieces
            .last()
            .is_some_and(|last| last.len() + key.len() <= last.capacity());
        if !fits {
            self.pieces
                .push(String::with_capacity(PIECE.max(key.len())));
        }
        let index = self.pieces.len() - 1;
        let piece = &mut self.pieces[index];
        piece.push_str(key);
        // A piece is at most a key long past `PIECE`, and a key is a URL's origin.
        let offset = |at: usize| u32::try_from(at).unwrap_or(u32::MAX);
        self.ends.push((offset(index), offset(piece.len())));
    }
}

impl Index<HostId> for HostKeys {
    type Output = str;

    fn index(&self, id: HostId) -> &str {
        let (piece, end) = self.ends[id];
        let start = match id.checked_sub(1).map(|before| self.ends[before]) {
            Some((same, start)) if same == piece => start,
            _ => 0,
        };
        &self.pieces[piece as usize][start as usize..end as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_key_comes_back_by_its_id() {
        let mut keys = HostKeys::default();
        for key in ["http://a.test:80", "", "https://b.test:443"] {
            keys.push(key);
        }
        assert_eq!(&keys[0], "http://a.test:80");
        assert_eq!(&keys[1], "");
        assert_eq!(&keys[2], "https://b.test:443");
    }

    #[test]
    fn keys_across_pieces_and_longer_than_one_come_back_whole() {
        let mut keys = HostKeys::default();
        let long = "x".repeat(PIECE + 10);
        let mut expected = Vec::new();
        for i in 0..PIECE / 8 {
            expected.push(format!("http://h{i}.test:80"));
        }
        expected.insert(1000, long);
        for key in &expected {
            keys.push(key);
        }
        assert!(keys.pieces.len() > 2);
        assert!(keys.pieces.iter().all(|p| p.capacity() <= PIECE + 10));
        for (id, key) in expected.iter().enumerate() {
            assert_eq!(&keys[id], key.as_str());
        }
    }
}
