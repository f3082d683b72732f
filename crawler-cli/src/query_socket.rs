//! Queries answered by a running crawl. A store is open in one process at a time, so
//! while `crawler crawl` runs, `stats`, `ls` and `get` cannot open its store; instead
//! the crawl listens on a Unix socket ([`Server`]), named in the store's lock-holder
//! file, and a refused query sends it its command line ([`ask`]). The crawl runs the
//! same command code on its own open store and sends back what it writes and the
//! outcome: what the crawl has stored so far, consistent with its counters.
//!
//! The exchange is frames: a tag byte, a big-endian `u32` length, that many bytes.
//! The client sends one `Q` frame (a JSON [`Request`]); the crawl answers with `O`
//! frames (the command's output) and then one `E` frame (a JSON [`Outcome`]).
//!
//! One thread serves one query at a time. It holds no lock the crawl needs (the
//! store's reads take none that writes wait on), a client that stops reading fails
//! the query after [`WRITE_PATIENCE`], and when the crawl ends a query still running
//! fails at its next write, so the end is not held up. Only the crawl's user may
//! connect: the socket is made mode 0600, and each connection's peer is checked.

use std::io::{self, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use clap::Parser;
use crawler_storage::Store;
use serde::{Deserialize, Serialize};

use crate::args::{Cli, Command};
use crate::commands::reading::{Output, Screen};
use crate::commands::{get, ls, stats};
use crate::Failure;

/// The name the socket is advertised by in the store's holder file.
const SERVICE: &str = "queries";
/// The socket's name in the store's directory.
const SOCKET_NAME: &str = "query.sock";
/// The longest socket path the kernel takes: `sun_path` is 108 bytes with a NUL.
const MAX_SOCKET_PATH: usize = 107;
/// How long a client may take to send its request, or to take a frame of output.
const WRITE_PATIENCE: Duration = Duration::from_secs(10);
/// The largest frame read; output is sent in frames of at most this many bytes.
const MAX_FRAME: usize = 1 << 20;

/// What a client asks: its command line, and where it shows the output.
#[derive(Serialize, Deserialize)]
struct Request {
    args: Vec<String>,
    screen: Screen,
}

/// How the query ended: the exit code, and the error line to print when it failed.
#[derive(Serialize, Deserialize)]
struct Outcome {
    code: u8,
    message: Option<String>,
}

/// The crawl's side: listens while it lives, then removes its socket.
pub struct Server {
    path: PathBuf,
    stopping: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    /// Listens for queries on `store`. Best effort: when the socket cannot be made,
    /// the crawl runs all the same and queries are refused as before (said at debug
    /// level, with why).
    pub fn start(store: Arc<Store>) -> Option<Server> {
        let path = socket_path(store.path())?;
        // Left by a crawl that was killed: this process holds the store's lock, so no
        // other live crawl can be using it.
        let _ = std::fs::remove_file(&path);
        let listener = match UnixListener::bind(&path).and_then(|listener| {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
            Ok(listener)
        }) {
            Ok(listener) => listener,
            Err(error) => {
                tracing::debug!(socket = %path.display(), %error, "queries are not answered during this crawl");
                let _ = std::fs::remove_file(&path);
                return None;
            }
        };
        match path.to_str() {
            Some(text) => store.advertise(SERVICE, text),
            None => {
                let _ = std::fs::remove_file(&path);
                return None;
            }
        }
        let stopping = Arc::new(AtomicBool::new(false));
        let thread = {
            let stopping = Arc::clone(&stopping);
            std::thread::Builder::new()
                .name("query-socket".into())
                .spawn(move || serve(&listener, &store, &stopping))
                .ok()?
        };
        Some(Server {
            path,
            stopping,
            thread: Some(thread),
        })
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stopping.store(true, Ordering::SeqCst);
        // Wakes the thread from `accept`; it sees `stopping` and ends.
        let _ = UnixStream::connect(&self.path);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Where the socket of the store at `store` goes: in the store, or when that path is
/// too long for a socket, in `$XDG_RUNTIME_DIR` (else the temporary directory) under
/// a name made of the store's path. Always absolute: clients run elsewhere.
fn socket_path(store: &Path) -> Option<PathBuf> {
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

fn serve(listener: &UnixListener, store: &Store, stopping: &AtomicBool) {
    for connection in listener.incoming() {
        if stopping.load(Ordering::SeqCst) {
            return;
        }
        let Ok(stream) = connection else {
            // Out of descriptors, say: wait rather than spin.
            std::thread::sleep(Duration::from_millis(50));
            continue;
        };
        if !same_user(&stream) {
            continue;
        }
        // A client gone or too slow: its query ends, the next one is served.
        let _ = answer(&stream, store, stopping);
    }
}

/// Whether the process at the other end runs as this process's user.
#[cfg(target_os = "linux")]
fn same_user(stream: &UnixStream) -> bool {
    use std::os::fd::AsRawFd;
    let mut credentials = libc::ucred {
        pid: 0,
        uid: u32::MAX,
        gid: u32::MAX,
    };
    let mut len = std::mem::size_of::<libc::ucred>() as libc::socklen_t;
    // SAFETY: the descriptor is the stream's, open for this call; the option value
    // points at a `ucred` and `len` holds its size, which the kernel writes at most.
    let done = unsafe {
        libc::getsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            (&raw mut credentials).cast(),
            &raw mut len,
        )
    };
    // SAFETY: `getuid` takes nothing and cannot fail.
    done == 0 && credentials.uid == unsafe { libc::getuid() }
}

/// Elsewhere the socket's mode 0600 alone keeps other users out.
#[cfg(not(target_os = "linux"))]
fn same_user(_stream: &UnixStream) -> bool {
    true
}

/// Serves one query on `stream`.
fn answer(mut stream: &UnixStream, store: &Store, stopping: &AtomicBool) -> io::Result<()> {
    stream.set_read_timeout(Some(WRITE_PATIENCE))?;
    stream.set_write_timeout(Some(WRITE_PATIENCE))?;
    let (tag, payload) = read_frame(&mut stream)?;
    if tag != b'Q' {
        return Ok(());
    }
    let request: Request = serde_json::from_slice(&payload).map_err(io::Error::other)?;
    let frames = Frames { stream, stopping };
    let mut out = io::BufWriter::with_capacity(64 * 1024, frames);
    let mut output = Output {
        out: &mut out,
        screen: request.screen,
    };
    let (result, named) = match Cli::try_parse_from(&request.args) {
        Ok(cli) => {
            let named = crate::queried_store(&cli.command);
            let result = match cli.command {
                Command::Ls(args) => ls::answer(&args, store, &mut output),
                Command::Get(args) => get::answer(&args, store, &mut output),
                Command::Stats(args) => stats::answer(&args, store, &mut output),
                _ => Err(Failure::Usage(
                    "a running crawl answers stats, ls and get only".into(),
                )),
            };
            (result, named)
        }
        Err(error) => (Err(Failure::Usage(error.to_string())), None),
    };
    let result = result.and_then(|()| out.flush().map_err(Failure::from));
    drop(out);
    let outcome = match result {
        Ok(()) => Outcome {
            code: crate::exit::DONE,
            message: None,
        },
        Err(Failure::Usage(message)) => Outcome {
            code: crate::exit::USAGE,
            message: Some(message),
        },
        Err(Failure::Setting(error)) => Outcome {
            code: crate::exit::USAGE,
            message: Some(error.to_string()),
        },
        Err(Failure::Error(error)) if crate::is_broken_pipe(&error) => return Ok(()),
        Err(Failure::Error(error)) => Outcome {
            code: crate::exit::ERROR,
            message: Some(format!(
                "{:#}",
                crate::naming_store(error, named.as_deref())
            )),
        },
    };
    let outcome = serde_json::to_vec(&outcome).map_err(io::Error::other)?;
    write_frame(&mut stream, b'E', &outcome)
}

/// A query's output, sent as `O` frames; fails once the crawl is ending.
struct Frames<'a> {
    stream: &'a UnixStream,
    stopping: &'a AtomicBool,
}

impl Write for Frames<'_> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        if self.stopping.load(Ordering::SeqCst) {
            return Err(io::Error::other(
                "the crawl ended while answering: run the command again, it reads the store itself now",
            ));
        }
        let n = bytes.len().min(MAX_FRAME);
        write_frame(&mut self.stream, b'O', &bytes[..n])?;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn write_frame(out: &mut impl Write, tag: u8, payload: &[u8]) -> io::Result<()> {
    let len = u32::try_from(payload.len()).map_err(io::Error::other)?;
    let mut head = [0u8; 5];
    head[0] = tag;
    head[1..].copy_from_slice(&len.to_be_bytes());
    out.write_all(&head)?;
    out.write_all(payload)
}

fn read_frame(input: &mut impl Read) -> io::Result<(u8, Vec<u8>)> {
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

/// The client's side: when the process holding `store` named a socket and it
/// answers, sends it this process's command line and prints what comes back. `None`
/// when there is no socket to ask (not a crawl, or a stale socket of a dead one).
pub fn ask(store: &Path) -> Option<Result<ExitCode, Failure>> {
    let socket = crawler_storage::advertised(store, SERVICE)?;
    let stream = UnixStream::connect(socket).ok()?;
    Some(converse(stream, store))
}

fn converse(mut stream: UnixStream, store: &Path) -> Result<ExitCode, Failure> {
    let request = Request {
        args: std::env::args_os()
            .map(|arg| arg.to_string_lossy().into_owned())
            .collect(),
        screen: Screen::of_stdout(),
    };
    let lost = |error: io::Error| {
        Failure::Error(anyhow::anyhow!(
            "store {}: the crawl running on it stopped answering the query: {error}",
            store.display()
        ))
    };
    write_frame(&mut stream, b'Q', &serde_json::to_vec(&request)?).map_err(lost)?;
    let mut stdout = io::stdout().lock();
    loop {
        let (tag, payload) = read_frame(&mut stream).map_err(lost)?;
        match tag {
            b'O' => stdout.write_all(&payload)?,
            b'E' => {
                stdout.flush()?;
                let outcome: Outcome = serde_json::from_slice(&payload)?;
                let message = outcome.message.unwrap_or_default();
                return match outcome.code {
                    crate::exit::DONE => Ok(ExitCode::SUCCESS),
                    crate::exit::USAGE => Err(Failure::Usage(message)),
                    _ => Err(Failure::Error(anyhow::anyhow!(message))),
                };
            }
            other => {
                return Err(lost(io::Error::other(format!(
                    "an unknown frame {other:#04x}"
                ))))
            }
        }
    }
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
