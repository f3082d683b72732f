//! The asking side of the query socket: a reading command whose store a running crawl
//! holds sends that crawl its command line and prints what comes back.

use std::io::{self, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::ExitCode;

use super::frames::{read_frame, write_frame, Outcome, Request, SERVICE};
use crate::screen::Screen;
use crate::Failure;

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
