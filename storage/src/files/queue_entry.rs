//! A queue entry's binary form, and the warning about damage in a queue file: what the
//! hosts' own queue files (`queue_files`) and the shared buckets (`queue_buckets`) both
//! read and write, kept here so that neither imports the other's internals.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::record::{QueueEntry, Via};

/// The damage every reader of this process has warned about, so that a stretch read
/// past at every refill of its host is logged once.
static WARNED: Mutex<Option<HashSet<(PathBuf, u64)>>> = Mutex::new(None);

/// Logs, once per process, that `len` bytes at `offset` of `path` (the queue file
/// `whose`: "of host ..." or "shared by host ... and others") were damaged and skipped.
pub(crate) fn warn_of_damage(path: &Path, whose: &str, offset: u64, len: u64) {
    // A set of plain values, valid after a panic elsewhere.
    let mut warned = WARNED.lock().unwrap_or_else(|p| p.into_inner());
    if !warned
        .get_or_insert_with(HashSet::new)
        .insert((path.to_path_buf(), offset))
    {
        return;
    }
    let store = path
        .ancestors()
        .find(|dir| dir.file_name().is_some_and(|name| name == "frontier"))
        .and_then(Path::parent)
        .unwrap_or(path);
    tracing::warn!(
        "queue file {} {whose} is damaged at byte {offset}: {len} bytes skipped, 1 queued URL lost; run `crawler check --store {}` to list the damage and `crawler repair --store {}` to rebuild what can be",
        path.display(),
        store.display(),
        store.display(),
    );
}

/// `depth u32, hops u8, flags u8 (1: from, 2: kind, 4: retry_of, 8: via, 16: order, 32:
/// changefreq), url, [from], [kind], [retry_of u64], [priority i8, turn u32], [via u8,
/// embeds u8], [changefreq_s u32]`, strings
/// as `u32 length + bytes`, little-endian. The host is the file's. `via` is written only
/// when it is not what [`Via::presumed`] says or `embeds` is not 0, so most entries keep
/// their size.
pub(crate) fn encode_entry(entry: &QueueEntry) -> Vec<u8> {
    let mut out = Vec::with_capacity(entry.url.len() * 2 + 24);
    let has_order = entry.priority != 0 || entry.turn != 0;
    out.extend_from_slice(&entry.depth.to_le_bytes());
    out.push(entry.hops);
    out.push(
        u8::from(entry.from.is_some())
            | (u8::from(entry.kind.is_some()) << 1)
            | (u8::from(entry.retry_of.is_some()) << 2)
            | (u8::from(writes_via(entry)) << 3)
            | (u8::from(has_order) << 4)
            | (u8::from(entry.changefreq_s.is_some()) << 5),
    );
    let strings = [Some(&entry.url), entry.from.as_ref(), entry.kind.as_ref()];
    for text in strings.into_iter().flatten() {
        let len = u32::try_from(text.len()).unwrap_or(u32::MAX);
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(text.as_bytes());
    }
    if let Some(failed_at) = entry.retry_of {
        out.extend_from_slice(&failed_at.to_le_bytes());
    }
    if has_order {
        out.extend_from_slice(&entry.priority.to_le_bytes());
        out.extend_from_slice(&entry.turn.to_le_bytes());
    }
    if writes_via(entry) {
        out.push(entry.via().code());
        out.push(entry.embeds);
    }
    if let Some(secs) = entry.changefreq_s {
        out.extend_from_slice(&secs.to_le_bytes());
    }
    out
}

fn writes_via(entry: &QueueEntry) -> bool {
    entry.embeds != 0 || entry.via() != Via::presumed(entry.from.as_deref())
}

pub(crate) fn decode_entry(bytes: &[u8], host: &str) -> Option<QueueEntry> {
    let depth = u32::from_le_bytes(bytes.get(..4)?.try_into().ok()?);
    let hops = *bytes.get(4)?;
    let flags = *bytes.get(5)?;
    let mut rest = bytes.get(6..)?;
    let mut string = || -> Option<String> {
        let len = u32::from_le_bytes(rest.get(..4)?.try_into().ok()?) as usize;
        let text = std::str::from_utf8(rest.get(4..4 + len)?).ok()?.to_owned();
        rest = rest.get(4 + len..)?;
        Some(text)
    };
    let url = string()?;
    let from = if flags & 1 != 0 {
        Some(string()?)
    } else {
        None
    };
    let kind = if flags & 2 != 0 {
        Some(string()?)
    } else {
        None
    };
    let retry_of = if flags & 4 != 0 {
        let failed_at = u64::from_le_bytes(rest.get(..8)?.try_into().ok()?);
        rest = rest.get(8..)?;
        Some(failed_at)
    } else {
        None
    };
    let (priority, turn) = if flags & 16 != 0 {
        let priority = i8::from_le_bytes([*rest.first()?]);
        let turn = u32::from_le_bytes(rest.get(1..5)?.try_into().ok()?);
        rest = rest.get(5..)?;
        (priority, turn)
    } else {
        (0, 0)
    };
    let (via, embeds) = if flags & 8 != 0 {
        let read = (Some(Via::from_code(*rest.first()?)?), *rest.get(1)?);
        rest = rest.get(2..)?;
        read
    } else {
        (Some(Via::presumed(from.as_deref())), 0)
    };
    let changefreq_s = if flags & 32 != 0 {
        Some(u32::from_le_bytes(rest.get(..4)?.try_into().ok()?))
    } else {
        None
    };
    Some(QueueEntry {
        url,
        host: host.to_owned(),
        depth,
        from,
        hops,
        kind,
        retry_of,
        priority,
        turn,
        via,
        embeds,
        changefreq_s,
    })
}

impl QueueEntry {
    /// The entry's compact binary form (the queue files'), without its host: for a
    /// queue kept elsewhere, such as a cluster's shared one.
    pub fn to_bytes(&self) -> Vec<u8> {
        encode_entry(self)
    }

    /// An entry read back from [`QueueEntry::to_bytes`], given its host; `None` for
    /// bytes that are not one.
    pub fn from_bytes(bytes: &[u8], host: &str) -> Option<QueueEntry> {
        decode_entry(bytes, host)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn via_and_embeds_round_trip_and_old_entries_read_as_presumed() {
        let seed = QueueEntry::seed("http://a.test/", "h");
        let link = QueueEntry {
            from: Some("http://a.test/".to_owned()),
            via: Some(Via::Link),
            ..seed.clone()
        };
        let embed = QueueEntry {
            via: Some(Via::Embed),
            embeds: 2,
            retry_of: Some(7),
            kind: Some("sitemap:1".to_owned()),
            ..link.clone()
        };
        let listed = QueueEntry {
            changefreq_s: Some(86_400),
            ..embed.clone()
        };
        let listed_page = QueueEntry {
            changefreq_s: Some(3_600),
            ..seed.clone()
        };
        for entry in [&seed, &link, &embed, &listed, &listed_page] {
            assert_eq!(
                decode_entry(&encode_entry(entry), "h").as_ref(),
                Some(entry)
            );
        }
        // What `via` presumes costs no byte: entries written before it read the same.
        let old = QueueEntry {
            via: None,
            ..link.clone()
        };
        assert_eq!(encode_entry(&old), encode_entry(&link));
        assert_eq!(decode_entry(&encode_entry(&old), "h"), Some(link));
        let mut bad = encode_entry(&embed);
        let last = bad.len() - 2;
        bad[last] = 200;
        assert_eq!(decode_entry(&bad, "h"), None);
    }
}
