//! The worker pool: a fixed number of named worker threads, the channel that brings them
//! tasks and the channel their reports go back on.
//!
//! The scheduler owns the pool; closing the task channel ends the workers, and
//! [`WorkerPool::join`] waits for every one of them, so no thread outlives a crawl.

use std::sync::Arc;
use std::thread;

use crossbeam_channel::{Receiver, Sender};

use super::context::{run_worker, WorkerContext};
use crate::messages::{Report, Task};

/// The worker threads and the two channels between them and the scheduler.
pub(crate) struct WorkerPool {
    /// Where the scheduler sends tasks (only to an idle worker).
    pub tasks: Sender<Task>,
    /// Where the workers report, one report per task.
    pub reports: Receiver<Report>,
    threads: Vec<thread::JoinHandle<()>>,
    /// A sender of reports for the seed intake, until it is taken.
    intake: Option<Sender<Report>>,
}

impl WorkerPool {
    /// Starts `size` workers (`worker-0`, `worker-1`, ...) sharing `context`. If one
    /// cannot be started, those already started are joined before the error returns.
    pub(crate) fn start(context: Arc<WorkerContext>, size: usize) -> std::io::Result<WorkerPool> {
        let (job_tx, job_rx) = crossbeam_channel::unbounded();
        let (report_tx, report_rx) = crossbeam_channel::unbounded();
        let mut workers = Vec::with_capacity(size);
        for index in 0..size {
            let (context, jobs, reports) =
                (Arc::clone(&context), job_rx.clone(), report_tx.clone());
            let spawned = thread::Builder::new()
                .name(format!("worker-{index}"))
                .spawn(move || run_worker(index, context, jobs, reports));
            match spawned {
                Ok(handle) => workers.push(handle),
                Err(e) => {
                    drop(job_tx);
                    join_all(workers);
                    return Err(e);
                }
            }
        }
        drop(job_rx);
        Ok(WorkerPool {
            tasks: job_tx,
            reports: report_rx,
            threads: workers,
            intake: Some(report_tx),
        })
    }

    /// The sender the seed intake reports on: taken once (the reports channel ends
    /// when the workers and the intake are all gone).
    pub(crate) fn take_intake_sender(&mut self) -> Option<Sender<Report>> {
        self.intake.take()
    }

    /// How many workers there are.
    pub(crate) fn size(&self) -> usize {
        self.threads.len()
    }

    /// Closes the task channel, so each worker ends after its task, and joins them all.
    pub(crate) fn join(self) {
        let WorkerPool {
            tasks,
            reports,
            threads,
            intake,
        } = self;
        drop(intake);
        drop(tasks);
        join_all(threads);
        drop(reports);
    }
}

fn join_all(workers: Vec<thread::JoinHandle<()>>) {
    for worker in workers {
        // A worker catches panics per page; one escaping here has already been reported.
        let _ = worker.join();
    }
}
