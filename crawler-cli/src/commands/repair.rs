//! `crawler repair`: what a store derives from its records rebuilt, what cannot be
//! trusted moved to its `quarantine/` folder, and what was lost said, one line each.

use std::io::{self, Write};
use std::process::ExitCode;

use crawler_storage::Store;

use super::maintenance::{fingerprint, queue_again};
use crate::args::RepairArgs;
use crate::escape::escaped;
use crate::Failure;

pub fn run(args: RepairArgs) -> Result<ExitCode, Failure> {
    let report = Store::repair(&args.store, &fingerprint, &queue_again)?;
    let mut out = io::stdout().lock();
    for line in &report.rebuilt {
        writeln!(out, "rebuilt: {}", escaped(line))?;
    }
    for line in &report.lost {
        writeln!(out, "lost: {}", escaped(line))?;
    }
    if report.lost.is_empty() {
        writeln!(out, "nothing was lost")?;
    }
    let quarantine = report.quarantine.display().to_string();
    writeln!(
        out,
        "store {} repaired; what was moved aside is in {} (the old indexes are derived: delete it when done)",
        escaped(&args.store.display().to_string()),
        escaped(&quarantine)
    )?;
    Ok(ExitCode::SUCCESS)
}
