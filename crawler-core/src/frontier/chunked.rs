//! A vector kept in fixed-size chunks, for the frontier's per-host state.
//!
//! A `Vec` doubles as it grows: at a million hosts of 112 bytes it reserved up to twice
//! what it held, and each growth held the old and the new array at once (a transient
//! 175 MB at the step to a million). Chunks are allocated as needed and never moved,
//! so memory follows the host count to within one chunk.

use std::ops::{Index, IndexMut};

/// Items per chunk: a few hundred kilobytes of hosts.
const CHUNK: usize = 4096;

pub(super) struct Chunked<T> {
    chunks: Vec<Vec<T>>,
    len: usize,
}

impl<T> Default for Chunked<T> {
    fn default() -> Chunked<T> {
        Chunked {
            chunks: Vec::new(),
            len: 0,
        }
    }
}

impl<T> Chunked<T> {
    pub(super) fn push(&mut self, item: T) {
        match self.chunks.last_mut() {
            Some(last) if last.len() < CHUNK => last.push(item),
            _ => {
                let mut chunk = Vec::with_capacity(CHUNK);
                chunk.push(item);
                self.chunks.push(chunk);
            }
        }
        self.len += 1;
    }

    pub(super) fn len(&self) -> usize {
        self.len
    }

    pub(super) fn get_mut(&mut self, index: usize) -> Option<&mut T> {
        self.chunks.get_mut(index / CHUNK)?.get_mut(index % CHUNK)
    }

    pub(super) fn iter(&self) -> impl Iterator<Item = &T> {
        self.chunks.iter().flatten()
    }
}

impl<T> Index<usize> for Chunked<T> {
    type Output = T;

    fn index(&self, index: usize) -> &T {
        &self.chunks[index / CHUNK][index % CHUNK]
    }
}

impl<T> IndexMut<usize> for Chunked<T> {
    fn index_mut(&mut self, index: usize) -> &mut T {
        &mut self.chunks[index / CHUNK][index % CHUNK]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_come_back_by_index_across_chunks() {
        let mut items = Chunked::default();
        for i in 0..3 * CHUNK + 5 {
            items.push(i);
        }
        assert_eq!(items.len(), 3 * CHUNK + 5);
        assert_eq!(items[0], 0);
        assert_eq!(items[CHUNK], CHUNK);
        assert_eq!(items[3 * CHUNK + 4], 3 * CHUNK + 4);
        *items.get_mut(CHUNK + 1).unwrap() = 7;
        assert_eq!(items[CHUNK + 1], 7);
        assert!(items.get_mut(3 * CHUNK + 5).is_none());
        assert_eq!(items.iter().count(), 3 * CHUNK + 5);
        assert_eq!(items.chunks.iter().map(Vec::capacity).max(), Some(CHUNK));
    }
}
