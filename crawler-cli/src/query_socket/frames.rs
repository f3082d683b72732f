//! What both sides of the query socket share: the frames, what a query asks and how
//! it ended, and where a store's socket goes.

use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::screen::Screen;

/// The name the socket is advertised by in the store's holder file.
pub(super) const SERVICE: &str = "queries";
/// The socket's name in the store's directory.
pub(super) const SOCKET_NAME: &str = "query.sock";
/// The longest socket path the kernel takes: `sun_path` is 108 bytes with a NUL.
pub(super) const MAX_SOCKET_PATH: usize = 107;
/// How long a client may take to send its request, or to take a frame of output.
pub(super) const WRITE_PATIENCE: Duration = Duration::from_secs(10);
/// The largest frame read; output is sent in frames of at most this many bytes.
pub(super) const MAX_FRAME: usize = 1 << 20;

/// What a client asks: its command line, and where it shows the output.
#[derive(Serialize, Deserialize)]
pub(super) struct Request {
    pub args: Vec<String>,
    pub screen: Screen,
}

/// How the query ended: the exit code, and the error line to print when it failed.
#[derive(Serialize, Deserialize)]
pub(super) struct Outcome {
    pub code: u8,
    pub message: Option<String>,
}

/// Where the socket of the store at `store` goes: in the store, or when that path is
/// too long for a socket, in `$XDG_RUNTIME_DIR` (else the temporary directory) under
/// a name made of the store's path. Always absolute: clients run elsewhere.
pub(super) fn socket_path(store: &Path) -> Option<PathBuf> {
    let store = std::path::absolute(store).ok()?;
    let inside = store.join(SOCKET_NAME);
    if inside.as_os_str().len() <= MAX_SOCKET_PATH {
        return Some(inside);
    }
    let dir = std::env::var_os("XDG_RUNTIME_DIR")
        .map(PathBuf::from)
        .filter(|dir| dir.is_absolute() && dir.is_dir())
        .unwrap_or_else(std::env::temp_dir);
    use sha1::Digest;
    let digest = sha1::Sha1::digest(store.as_os_str().as_encoded_bytes());
    let name: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    let path = dir.join(format!("crawler-{name}.sock"));
    (path.as_os_str().len() <= MAX_SOCKET_PATH).then_some(path)
}

pub(super) fn write_frame(out: &mut impl Write, tag: u8, payload: &[u8]) -> io::Result<()> {
    let len = u32::try_from(payload.len()).map_err(io::Error::other)?;
    let mut head = [0u8; 5];
    head[0] = tag;
    head[1..].copy_from_slice(&len.to_be_bytes());
    out.write_all(&head)?;
    out.write_all(payload)
}

pub(super) fn read_frame(input: &mut impl Read) -> io::Result<(u8, Vec<u8>)> {
    let mut head = [0u8; 5];
    input.read_exact(&mut head)?;
    let len = u32::from_be_bytes([head[1], head[2], head[3], head[4]]) as usize;
    if len > MAX_FRAME {
        return Err(io::Error::other(format!("a frame of {len} bytes")));
    }
    let mut payload = vec![0; len];
    input.read_exact(&mut payload)?;
    Ok((head[0], payload))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_store_path_too_long_for_a_socket_gets_one_elsewhere_named_by_it() {
        let short = socket_path(Path::new("/s")).unwrap();
        assert_eq!(short, Path::new("/s").join(SOCKET_NAME));
        let long = format!("/{}", "d".repeat(200));
        let elsewhere = socket_path(Path::new(&long)).unwrap();
        assert!(elsewhere.as_os_str().len() <= MAX_SOCKET_PATH);
        assert_ne!(
            elsewhere,
            socket_path(Path::new(&format!("{long}2"))).unwrap()
        );
        assert_eq!(elsewhere, socket_path(Path::new(&long)).unwrap());
    }

    #[test]
    fn frames_read_back_as_written_and_oversized_ones_are_refused() {
        let mut bytes = Vec::new();
        write_frame(&mut bytes, b'O', b"hello").unwrap();
        assert_eq!(
            read_frame(&mut &bytes[..]).unwrap(),
            (b'O', b"hello".to_vec())
        );
        let mut huge = vec![b'O'];
        huge.extend_from_slice(&u32::MAX.to_be_bytes());
        assert!(read_frame(&mut &huge[..]).is_err());
    }
}
