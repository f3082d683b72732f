//! `crawler`: crawl a seed list into a store, then query what it stored.
//!
//! This crate is the only one that prints, parses flags or picks exit codes; the
//! engine (`crawler-core`) and the store (`crawler-storage`) report typed errors.

mod args;
mod cdxj;
mod command_line;
mod commands;
mod config_file;
mod escape;
mod exit;
mod limits;
mod listen;
mod logging;
#[cfg(feature = "parquet")]
mod parquet_file;
#[cfg(unix)]
mod query_socket;
mod report;
mod screen;
mod signals;
mod surt;
mod table;
mod terminal;
mod time;
mod values;
#[cfg(feature = "wacz")]
mod wacz;
mod warc;

use std::process::ExitCode;

use args::Command;

/// glibc's allocator spends a tenth of a crawl's CPU time contending between 16
/// workers; mimalloc's per-thread heaps do not.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's defaults trade memory for speed: arenas committed up front (backed by
/// transparent huge pages where the kernel allows), freed memory returned lazily. A
/// crawl of millions of URLs allocates and frees constantly, and those defaults cost
/// it about 40% more peak RSS (BENCHMARKS.md), so return memory at once instead.
fn tune_allocator() {
    set_allocator_options(&[(ARENA_EAGER_COMMIT, 0), (PURGE_DELAY, 0)]);
    disable_transparent_huge_pages();
}

/// A query command runs for a moment and frees little: memory returned at once only
/// comes back through page faults (a tenth of `get`'s time on a large store), so
/// keep mimalloc's default delay of a second there.
fn tune_allocator_for_reading() {
    set_allocator_options(&[(PURGE_DELAY, 1000)]);
}

// The values of mimalloc's `mi_option_e` in the v3 sources libmimalloc-sys builds by
// default (its `v2` feature is off); libmimalloc-sys exports no constant for these.
const ARENA_EAGER_COMMIT: libmimalloc_sys::mi_option_t = 4;
const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

fn set_allocator_options(options: &[(libmimalloc_sys::mi_option_t, std::ffi::c_long)]) {
    for &(option, value) in options {
        // SAFETY: `mi_option_set` stores a number in mimalloc's option table (atomic
        // writes); it takes no pointers and may be called at any time from any thread.
        unsafe { libmimalloc_sys::mi_option_set(option, value) };
    }
}

/// Memory returned at once comes back through page faults, and a fault in a huge page
/// zeroes 2 MiB: a third of an export's time went to that. mimalloc's own `allow_thp`
/// option is read only while the process starts, so ask the kernel directly.
#[cfg(target_os = "linux")]
fn disable_transparent_huge_pages() {
    // SAFETY: PR_SET_THP_DISABLE takes integer arguments only and sets a flag of this
    // process's memory map; it cannot touch memory the program uses. A failure (an old
    // kernel) leaves THP as it was, which is only slower.
    unsafe { libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0) };
}

#[cfg(not(target_os = "linux"))]
fn disable_transparent_huge_pages() {}

/// An error with the exit code it deserves.
pub enum Failure {
    /// Bad usage: bad flag values, bad seeds (exit 2).
    Usage(String),
    /// A crawl setting the engine refused (exit 2); the caller names where it came from.
    Setting(crawler_core::ConfigError),
    /// Anything else (exit 1).
    Error(anyhow::Error),
}

impl<E: Into<anyhow::Error>> From<E> for Failure {
    fn from(error: E) -> Failure {
        Failure::Error(error.into())
    }
}

fn main() -> ExitCode {
    tune_allocator();
    let cli = match command_line::parse() {
        Ok(cli) => cli,
        Err(message) => {
            terminal::error_line(&message);
            return ExitCode::from(exit::USAGE);
        }
    };
    logging::init(&cli.logging);
    limits::raise_open_files_limit();
    if matches!(
        cli.command,
        Command::Stats(_)
            | Command::Ls(_)
            | Command::Get(_)
            | Command::Links(_)
            | Command::Export(_)
            | Command::Check(_)
    ) {
        tune_allocator_for_reading();
    }
    let store = queried_store(&cli.command);
    let result = match cli.command {
        Command::Crawl(args) => commands::crawl::run(*args),
        Command::Stats(args) => commands::stats::run(args),
        Command::Ls(args) => commands::ls::run(args),
        Command::Get(args) => commands::get::run(args),
        Command::Links(args) => commands::links::run(args),
        Command::Export(args) => commands::export::run(args),
        Command::Check(args) => commands::check::run(args),
        Command::Repair(args) => commands::repair::run(args),
        Command::Demo(args) => commands::demo::run(args),
        Command::Robots(args) => commands::robots::run(args),
        Command::Top(args) => commands::top::run(args),
        Command::Completions(args) => commands::completions::run(args),
        Command::Man(args) => commands::man::run(args),
    };
    match result {
        Ok(code) => code,
        Err(Failure::Usage(message)) => {
            report_error(&message);
            ExitCode::from(exit::USAGE)
        }
        Err(Failure::Setting(error)) => {
            report_error(&commands::crawl::setting_message(
                &error,
                &config_file::Origins::new(),
            ));
            ExitCode::from(exit::USAGE)
        }
        // A closed pipe (`crawler ls | head`) is a normal way to stop reading.
        Err(Failure::Error(error)) if is_broken_pipe(&error) => ExitCode::SUCCESS,
        Err(Failure::Error(error)) => {
            let error = naming_store(error, store.as_deref());
            report_error(&format!("{error:#}"));
            ExitCode::from(exit::ERROR)
        }
    }
}

/// The store a query or maintenance command reads.
fn queried_store(command: &Command) -> Option<std::path::PathBuf> {
    match command {
        Command::Stats(args) => args.store.clone(),
        Command::Ls(args) => Some(args.store.clone()),
        Command::Get(args) => Some(args.store.clone()),
        Command::Links(args) => Some(args.store.clone()),
        Command::Export(args) => Some(args.store.clone()),
        Command::Check(args) => Some(args.store.clone()),
        Command::Repair(args) => Some(args.store.clone()),
        _ => None,
    }
}

/// `error`, naming `store` when it is an error of sled's that names none (sled's own
/// words say nothing of where).
fn naming_store(error: anyhow::Error, store: Option<&std::path::Path>) -> anyhow::Error {
    let Some(store) = store else {
        return error;
    };
    match error.downcast::<crawler_storage::StoreError>() {
        Ok(error) => error.in_store(store).into(),
        Err(error) => error,
    }
}

/// The one line a failed command ends with: plain text, or a log event with
/// `--log-format json` so that every line of stderr is JSON.
fn report_error(message: &str) {
    if terminal::notices_are_json() {
        tracing::error!(target: "crawler", "{message}");
    } else {
        terminal::error_line(message);
    }
}

/// Whether writing the output failed because its reader went away.
fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        let kind = cause
            .downcast_ref::<std::io::Error>()
            .map(std::io::Error::kind)
            .or_else(|| {
                cause
                    .downcast_ref::<serde_json::Error>()
                    .and_then(serde_json::Error::io_error_kind)
            });
        kind == Some(std::io::ErrorKind::BrokenPipe)
    })
}
