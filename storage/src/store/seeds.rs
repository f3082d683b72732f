//! The seeds of every run over a store, in `seeds.txt`: one canonical URL per line,
//! appended when a run takes its seeds in.
//!
//! They set the scope of every later run over the store. They used to be kept in
//! each run's description, which is one JSON value in sled rewritten whole at each
//! run's start and end: a million seeds made it 40 MB and cost a few hundred MB
//! to build. A file read a line at a time costs neither. A line is written whole or
//! torn at the end by a crash; a last line without its newline is left out.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::PathBuf;

use super::Store;
use crate::StoreError;

const SEEDS_FILE: &str = "seeds.txt";

impl Store {
    /// Appends `seeds` (canonical URLs, without newlines) to the store's seed list and
    /// makes them durable. Returns how many were written.
    pub fn add_seeds<'a>(
        &self,
        seeds: impl IntoIterator<Item = &'a str>,
    ) -> Result<u64, StoreError> {
        self.check_writable()?;
        let path = self.seeds_path();
        let mut file = OpenOptions::new()
            .create(true)
            .read(true)
            .write(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| StoreError::io(&path, e))?;
        cut_torn_line(&mut file).map_err(|e| StoreError::io(&path, e))?;
        let mut out = BufWriter::new(file);
        let mut written = 0;
        for seed in seeds {
            if seed.contains('\n') {
                continue;
            }
            out.write_all(seed.as_bytes())
                .and_then(|()| out.write_all(b"\n"))
                .map_err(|e| StoreError::io(&path, e))?;
            written += 1;
        }
        let file = out
            .into_inner()
            .map_err(|e| StoreError::io(&path, e.into_error()))?;
        file.sync_data().map_err(|e| StoreError::io(&path, e))?;
        Ok(written)
    }

    /// Every seed of every run over the store, oldest first (a line torn by a crash
    /// left out). Empty for a store whose runs kept their seeds in their descriptions.
    pub fn seeds(&self) -> Result<StoredSeeds, StoreError> {
        let path = self.seeds_path();
        let reader = match File::open(&path) {
            Ok(file) => Some(BufReader::new(file)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(StoreError::io(&path, e)),
        };
        Ok(StoredSeeds { path, reader })
    }

    fn seeds_path(&self) -> PathBuf {
        self.path().join(SEEDS_FILE)
    }
}

/// Cuts a last line a crash left without its newline, so that what is appended next
/// starts a line of its own; leaves the file's position at its end.
fn cut_torn_line(file: &mut File) -> std::io::Result<()> {
    const STEP: u64 = 4096;
    let len = file.seek(SeekFrom::End(0))?;
    let mut end = len;
    let mut chunk = Vec::new();
    while end > 0 {
        let start = end.saturating_sub(STEP);
        chunk.resize((end - start) as usize, 0);
        file.seek(SeekFrom::Start(start))?;
        file.read_exact(&mut chunk)?;
        let last_line_ends = chunk.iter().rposition(|&b| b == b'\n');
        if end == len && last_line_ends == Some(chunk.len() - 1) {
            break;
        }
        if let Some(at) = last_line_ends {
            end = start + at as u64 + 1;
            break;
        }
        end = start;
    }
    if end < len {
        file.set_len(end)?;
    }
    file.seek(SeekFrom::Start(end))?;
    Ok(())
}

/// The stored seeds, read a line at a time.
pub struct StoredSeeds {
    path: PathBuf,
    reader: Option<BufReader<File>>,
}

impl Iterator for StoredSeeds {
    type Item = Result<String, StoreError>;

    fn next(&mut self) -> Option<Self::Item> {
        let reader = self.reader.as_mut()?;
        let mut line = String::new();
        match reader.read_line(&mut line) {
            Ok(0) => None,
            Ok(_) if !line.ends_with('\n') => None,
            Ok(_) => {
                line.pop();
                Some(Ok(line))
            }
            Err(e) => {
                self.reader = None;
                Some(Err(StoreError::io(&self.path, e)))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use crate::{Store, StoreOptions};

    #[test]
    fn seeds_of_runs_add_up_and_a_torn_last_line_is_left_out() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("s"), StoreOptions::default()).unwrap();
        assert_eq!(store.seeds().unwrap().count(), 0);
        store
            .add_seeds(["http://a.test/", "http://b.test/"])
            .unwrap();
        store.add_seeds(["http://c.test/"]).unwrap();
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(dir.path().join("s").join("seeds.txt"))
            .unwrap();
        file.write_all(b"http://torn").unwrap();
        let seeds = || -> Vec<String> { store.seeds().unwrap().map(Result::unwrap).collect() };
        assert_eq!(
            seeds(),
            ["http://a.test/", "http://b.test/", "http://c.test/"]
        );
        store.add_seeds(["http://d.test/"]).unwrap();
        assert_eq!(seeds()[2..], ["http://c.test/", "http://d.test/"]);
    }
}
