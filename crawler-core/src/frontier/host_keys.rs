//! Every host's key in one string: a key costs its bytes and the 8 of its end, where a
//! `String` of its own costs 24 more and an allocation. A broad crawl has a million.

use std::ops::Index;

use super::chunked::Chunked;
use crate::messages::HostId;

#[derive(Default)]
pub(super) struct HostKeys {
    text: String,
    /// Where each key ends in `text`, by host id.
    ends: Chunked<usize>,
}

impl HostKeys {
    /// Adds the key of the next host id.
    pub(super) fn push(&mut self, key: &str) {
        self.text.push_str(key);
        self.ends.push(self.text.len());
    }
}

impl Index<HostId> for HostKeys {
    type Output = str;

    fn index(&self, id: HostId) -> &str {
        let start = match id {
            0 => 0,
            _ => self.ends[id - 1],
        };
        &self.text[start..self.ends[id]]
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
}
