//! The crawl's side of the query socket: one thread that answers one query at a time
//! by running the command on the crawl's open store.

use std::io::{self, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use clap::Parser;
use crawler_storage::{Store, StoreUnion};

use super::frames::{
    read_frame, socket_path, write_frame, Outcome, Request, MAX_FRAME, SERVICE, WRITE_PATIENCE,
};
use crate::args::{Cli, Command};
use crate::commands::{get, ls, stats};
use crate::screen::Output;
use crate::Failure;

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
            let crawl = StoreUnion::new(vec![store]);
            let result = match cli.command {
                Command::Ls(args) => ls::answer(&args, &crawl, &mut output),
                Command::Get(args) => get::answer(&args, &crawl, &mut output),
                Command::Stats(args) => stats::answer(&args, &crawl, &mut output),
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
