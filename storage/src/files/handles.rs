//! A small cache of open files, least recently used out first, so that a store keeps a
//! bounded number of descriptors whatever the number of its files (a queue file per
//! host, 256 seen-set partitions).
//!
//! A crawl of 10,000 hosts kept a descriptor per queue file and per partition, and
//! died with "Too many open files" under the common limit of 1,024. Here a file is
//! opened on use and closed when it falls out of the cache; a caller holding a file
//! keeps it open until it lets go, so at most `capacity` plus the callers at work are
//! open. When a descriptor cannot be had all the same (the process or the system is
//! at its limit: sockets, other caches), [`open_retrying`] waits for one instead of
//! failing the store.

use std::collections::HashMap;
use std::fs::File;
use std::hash::Hash;
use std::io;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// How long an open waits for a descriptor before its error is the store's.
pub(crate) const DESCRIPTOR_PATIENCE: Duration = Duration::from_secs(120);

/// Open files by key, at most `capacity` of them held by the cache.
pub(crate) struct OpenFiles<K> {
    capacity: usize,
    state: Mutex<Lru<K>>,
}

struct Lru<K> {
    files: HashMap<K, (Arc<File>, u64)>,
    clock: u64,
}

impl<K: Hash + Eq + Clone> OpenFiles<K> {
    pub(crate) fn new(capacity: usize) -> OpenFiles<K> {
        OpenFiles {
            capacity: capacity.max(1),
            state: Mutex::new(Lru {
                files: HashMap::new(),
                clock: 0,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Lru<K>> {
        // A map and a counter, whole after any panic.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The open file of `key`, opened with `open` when the cache does not hold it.
    pub(crate) fn get(
        &self,
        key: &K,
        open: impl FnMut() -> io::Result<File>,
    ) -> io::Result<Arc<File>> {
        {
            let mut lru = self.lock();
            lru.clock += 1;
            let now = lru.clock;
            if let Some((file, used)) = lru.files.get_mut(key) {
                *used = now;
                return Ok(Arc::clone(file));
            }
        }
        // Opened without the lock: an open may wait for a descriptor.
        let file = Arc::new(open_retrying(open, || self.shrink())?);
        self.insert(key.clone(), Arc::clone(&file));
        Ok(file)
    }

    /// Puts `file` in the cache as `key`'s (replacing the one it held).
    pub(crate) fn insert(&self, key: K, file: Arc<File>) {
        let mut lru = self.lock();
        lru.clock += 1;
        let now = lru.clock;
        while lru.files.len() >= self.capacity && !lru.files.contains_key(&key) {
            lru.evict_oldest();
        }
        lru.files.insert(key, (file, now));
    }

    /// Forgets `key`'s file (replaced on disk: a handle would write to the old one).
    pub(crate) fn remove(&self, key: &K) {
        self.lock().files.remove(key);
    }

    /// Forgets every file.
    pub(crate) fn clear(&self) {
        self.lock().files.clear();
    }

    /// Closes the least recently used half: descriptors for an open that failed.
    fn shrink(&self) {
        let mut lru = self.lock();
        for _ in 0..lru.files.len().div_ceil(2) {
            lru.evict_oldest();
        }
    }

    /// Files the cache holds open now.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.lock().files.len()
    }
}

impl<K: Hash + Eq + Clone> Lru<K> {
    fn evict_oldest(&mut self) {
        let oldest = self
            .files
            .iter()
            .min_by_key(|(_, (_, used))| *used)
            .map(|(key, _)| key.clone());
        if let Some(key) = oldest {
            self.files.remove(&key);
        }
    }
}

/// Whether `error` says no descriptor could be had (the process's or the system's
/// limit), which passes as other files and sockets close.
pub(crate) fn is_out_of_descriptors(error: &io::Error) -> bool {
    matches!(error.raw_os_error(), Some(libc::EMFILE | libc::ENFILE))
}

/// `open()`, again and again while it fails for want of a descriptor (calling
/// `make_room` each time, then waiting a little longer), for up to
/// [`DESCRIPTOR_PATIENCE`]; any other error at once.
pub(crate) fn open_retrying<T>(
    mut open: impl FnMut() -> io::Result<T>,
    mut make_room: impl FnMut(),
) -> io::Result<T> {
    let started = Instant::now();
    let mut pause = Duration::from_millis(1);
    loop {
        match open() {
            Err(e) if is_out_of_descriptors(&e) && started.elapsed() < DESCRIPTOR_PATIENCE => {
                make_room();
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(100));
            }
            other => return other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_least_recently_used_file_is_closed_first() {
        let dir = tempfile::tempdir().unwrap();
        let cache = OpenFiles::new(2);
        let open = |name: &str| {
            let path = dir.path().join(name);
            move || File::create(&path)
        };
        let a = cache.get(&"a", open("a")).unwrap();
        cache.get(&"b", open("b")).unwrap();
        // `a` used again: `b` is the oldest when `c` needs room.
        assert!(Arc::ptr_eq(&a, &cache.get(&"a", open("a")).unwrap()));
        cache.get(&"c", open("c")).unwrap();
        assert_eq!(cache.len(), 2);
        assert!(Arc::ptr_eq(&a, &cache.get(&"a", open("a")).unwrap()));
        let mut opened = false;
        cache
            .get(&"b", || {
                opened = true;
                File::create(dir.path().join("b"))
            })
            .unwrap();
        assert!(opened, "b had been closed");
    }

    #[test]
    fn an_open_out_of_descriptors_waits_for_one() {
        let mut failures = 3;
        let mut made_room = 0;
        let opened = open_retrying(
            || {
                if failures > 0 {
                    failures -= 1;
                    return Err(io::Error::from_raw_os_error(libc::EMFILE));
                }
                Ok(7)
            },
            || made_room += 1,
        );
        assert_eq!(opened.unwrap(), 7);
        assert_eq!(made_room, 3);
        let other = open_retrying(
            || Err::<(), _>(io::Error::from_raw_os_error(libc::EACCES)),
            || panic!("no room is made for another error"),
        );
        assert_eq!(other.unwrap_err().raw_os_error(), Some(libc::EACCES));
    }
}
