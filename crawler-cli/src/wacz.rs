//! WACZ 1.1.1 (Web Archive Collection Zipped): a zip of a WARC (`archive/`), its CDXJ
//! index (`indexes/index.cdxj`), the list of pages (`pages/pages.jsonl`), and
//! `datapackage.json` naming each with its size and SHA-256, itself hashed in
//! `datapackage-digest.json`. Replay tools (ReplayWeb.page, pywb) open it whole.
//!
//! Every entry is stored, not deflated: readers seek into the WARC by the index's
//! offsets, which a deflated entry would not allow.

use std::fs::File;
use std::io::{self, Read, Seek, Write};

use serde::Serialize;
use sha2::{Digest, Sha256};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

/// A file to put in the package, read from its start.
pub struct Part {
    /// Its path in the zip (`archive/data.warc.gz`).
    pub path: String,
    pub file: File,
}

#[derive(Serialize)]
struct Resource {
    name: String,
    path: String,
    hash: String,
    bytes: u64,
}

#[derive(Serialize)]
struct Package<'a> {
    profile: &'a str,
    resources: Vec<Resource>,
    #[serde(skip_serializing_if = "Option::is_none")]
    title: Option<&'a str>,
    created: &'a str,
    wacz_version: &'a str,
    software: String,
}

#[derive(Serialize)]
struct PackageDigest {
    path: &'static str,
    hash: String,
}

/// Writes the package of `parts` to `out`. `created` is an RFC 3339 time.
pub fn write<W: Write + Seek>(
    out: W,
    mut parts: Vec<Part>,
    title: Option<&str>,
    created: &str,
) -> Result<W, zip::result::ZipError> {
    let mut resources = Vec::with_capacity(parts.len());
    for part in &mut parts {
        let (hash, bytes) = sha256(&mut part.file)?;
        part.file.rewind()?;
        resources.push(Resource {
            name: part
                .path
                .rsplit('/')
                .next()
                .unwrap_or(&part.path)
                .to_ascii_lowercase(),
            path: part.path.clone(),
            hash,
            bytes,
        });
    }
    let package = Package {
        profile: "data-package",
        resources,
        title,
        created,
        wacz_version: "1.1.1",
        software: format!("crawler {}", env!("CARGO_PKG_VERSION")),
    };
    let package = serde_json::to_vec_pretty(&package).map_err(io::Error::from)?;
    let digest = PackageDigest {
        path: "datapackage.json",
        hash: format!("sha256:{}", hex(&Sha256::digest(&package))),
    };
    let digest = serde_json::to_vec_pretty(&digest).map_err(io::Error::from)?;

    let mut zip = ZipWriter::new(out);
    for mut part in parts {
        let size = part.file.metadata()?.len();
        zip.start_file(part.path.as_str(), options(size))?;
        io::copy(&mut part.file, &mut zip)?;
    }
    for (path, bytes) in [
        ("datapackage.json", &package),
        ("datapackage-digest.json", &digest),
    ] {
        zip.start_file(path, options(bytes.len() as u64))?;
        zip.write_all(bytes)?;
    }
    zip.finish()
}

/// Stored, with zip64 sizes for an entry of 4 GiB or more.
fn options(size: u64) -> SimpleFileOptions {
    SimpleFileOptions::default()
        .compression_method(CompressionMethod::Stored)
        .large_file(size >= u64::from(u32::MAX))
}

/// `sha256:HEX` of what `file` holds from where it is, and its length.
fn sha256(file: &mut File) -> io::Result<(String, u64)> {
    let mut hasher = Sha256::new();
    let mut buffer = vec![0; 1 << 16];
    let mut bytes = 0;
    loop {
        let n = file.read(&mut buffer)?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
        bytes += n as u64;
    }
    Ok((format!("sha256:{}", hex(&hasher.finalize())), bytes))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_package_lists_each_part_with_its_hash() {
        let mut warc = tempfile::tempfile().unwrap();
        warc.write_all(b"abc").unwrap();
        warc.rewind().unwrap();
        let parts = vec![Part {
            path: "archive/data.warc.gz".into(),
            file: warc,
        }];
        let out = write(
            io::Cursor::new(Vec::new()),
            parts,
            None,
            "2026-01-01T00:00:00Z",
        )
        .unwrap()
        .into_inner();
        let mut zip = zip::ZipArchive::new(io::Cursor::new(out)).unwrap();
        let mut package = String::new();
        zip.by_name("datapackage.json")
            .unwrap()
            .read_to_string(&mut package)
            .unwrap();
        let package: serde_json::Value = serde_json::from_str(&package).unwrap();
        assert_eq!(
            package["resources"][0]["hash"],
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(package["wacz_version"], "1.1.1");
        let warc = zip.by_name("archive/data.warc.gz").unwrap();
        assert_eq!(warc.compression(), CompressionMethod::Stored);
    }
}
