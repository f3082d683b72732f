//! The worker pool: a fixed number of named worker threads, the channel that brings them
//! tasks and the channel their reports go back on; with `--render`, the render threads
//! too (one per tab), which report on the same channel.
//!
//! The scheduler owns the pool; closing the task channel ends the workers, and
//! [`WorkerPool::join`] waits for every one of them (then tells the render threads to
//! end and waits for them), so no thread outlives a crawl.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;

use crossbeam_channel::{Receiver, Sender};

use super::context::{run_worker, WorkerContext};
use super::render_queue::RenderTask;
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
    /// The render threads (`--render`).
    renderers: Vec<thread::JoinHandle<()>>,
    context: Arc<WorkerContext>,
}

impl WorkerPool {
    /// Starts `size` workers (`worker-0`, `worker-1`, ...) sharing `context`, and with
    /// `render_tasks` the browser and its render threads. If one cannot be started,
    /// those already started are joined before the error returns.
    pub(crate) fn start(
        context: Arc<WorkerContext>,
        size: usize,
        render_tasks: Option<Receiver<RenderTask>>,
    ) -> std::io::Result<WorkerPool> {
        let (job_tx, job_rx) = crossbeam_channel::unbounded();
        let (report_tx, report_rx) = crossbeam_channel::unbounded();
        let renderers = match render_tasks {
            Some(tasks) => start_renderers(&context, &tasks, &report_tx)?,
            None => Vec::new(),
        };
        let mut workers = Vec::with_capacity(size);
        for index in 0..size {
            let (shared, jobs, reports) = (Arc::clone(&context), job_rx.clone(), report_tx.clone());
            let spawned = thread::Builder::new()
                .name(format!("worker-{index}"))
                .spawn(move || run_worker(index, shared, jobs, reports));
            match spawned {
                Ok(handle) => workers.push(handle),
                Err(e) => {
                    drop(job_tx);
                    join_all(workers);
                    quit_renderers(&context, renderers);
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
            renderers,
            context,
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

    /// Pages queued for rendering whose rendering is not reported done yet.
    pub(crate) fn renders_pending(&self) -> usize {
        (self.context.render.as_ref()).map_or(0, |queue| queue.pending().load(Ordering::SeqCst))
    }

    /// The scheduler dispatches nothing more: rendering pages stop waiting for fetches.
    pub(crate) fn close_renders(&self) {
        if let Some(queue) = &self.context.render {
            queue.close();
        }
    }

    /// A render's last report was taken.
    pub(crate) fn render_done(&self) {
        if let Some(queue) = &self.context.render {
            let pending: Arc<AtomicUsize> = queue.pending();
            let _ = pending.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
        }
    }

    /// Closes the task channel, so each worker ends after its task, and joins them all,
    /// then the render threads.
    pub(crate) fn join(self) {
        let WorkerPool {
            tasks,
            reports,
            threads,
            intake,
            renderers,
            context,
        } = self;
        drop(intake);
        drop(tasks);
        join_all(threads);
        quit_renderers(&context, renderers);
        drop(reports);
    }
}

#[cfg(feature = "render")]
fn start_renderers(
    context: &Arc<WorkerContext>,
    tasks: &Receiver<RenderTask>,
    reports: &Sender<Report>,
) -> std::io::Result<Vec<thread::JoinHandle<()>>> {
    match &context.settings.render {
        Some(settings) => super::render::start_renderers(context, settings, tasks, reports),
        None => Ok(Vec::new()),
    }
}

/// Without the `render` feature no configuration asks for rendering.
#[cfg(not(feature = "render"))]
fn start_renderers(
    _context: &Arc<WorkerContext>,
    _tasks: &Receiver<RenderTask>,
    _reports: &Sender<Report>,
) -> std::io::Result<Vec<thread::JoinHandle<()>>> {
    Ok(Vec::new())
}

fn quit_renderers(context: &WorkerContext, renderers: Vec<thread::JoinHandle<()>>) {
    if let Some(queue) = &context.render {
        queue.quit(renderers.len());
    }
    join_all(renderers);
}

fn join_all(workers: Vec<thread::JoinHandle<()>>) {
    for worker in workers {
        // A worker catches panics per page; one escaping here has already been reported.
        let _ = worker.join();
    }
}
