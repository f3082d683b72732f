//! `crawler check`: every file of a store verified, each problem named (exit 1), or
//! one line saying the store is sound. Changes nothing in the store.

use std::io::{self, Write};
use std::process::ExitCode;

use crawler_storage::{Problem, Store};

use super::maintenance::fingerprint;
use crate::args::CheckArgs;
use crate::escape::escaped;
use crate::Failure;

pub fn run(args: CheckArgs) -> Result<ExitCode, Failure> {
    let report = Store::check(&args.store, &fingerprint)?;
    let sound = report.problems.is_empty();
    let mut out = io::stdout().lock();
    if args.json {
        let mut value = serde_json::to_value(&report)?;
        if let Some(object) = value.as_object_mut() {
            object.insert("sound".into(), sound.into());
            object.insert("store".into(), args.store.display().to_string().into());
        }
        serde_json::to_writer(&mut out, &value)?;
        writeln!(out)?;
        return Ok(if sound {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        });
    }
    let store = args.store.display().to_string();
    if sound {
        writeln!(
            out,
            "store {} is sound: {} pages and {} frontier entries checked",
            escaped(&store),
            report.pages,
            report.queued
        )?;
        return Ok(ExitCode::SUCCESS);
    }
    for problem in &report.problems {
        writeln!(out, "{}", escaped(&describe(problem)))?;
    }
    out.flush()?;
    Err(Failure::Error(anyhow::anyhow!(
        "store {store}: {} problem{} found; `crawler repair --store {store}` rebuilds what is derived from the records and says what was lost",
        report.problems.len(),
        if report.problems.len() == 1 { "" } else { "s" },
    )))
}

/// `FILE at byte N: WHAT`, or `FILE: WHAT` for a whole file.
fn describe(problem: &Problem) -> String {
    let at = problem
        .offset
        .map(|offset| format!(" at byte {offset}"))
        .unwrap_or_default();
    format!("{}{at}: {}", problem.file.display(), problem.what)
}
