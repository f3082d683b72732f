//! `peak-rss OUT PROGRAM [ARGS...]`: runs PROGRAM, writes its peak resident set size
//! (KiB, from `wait4`) to the file OUT, and exits as PROGRAM did (128 + N when signal N
//! ended it).
//!
//! Why a process of its own: Linux starts a new process's peak RSS at its parent's
//! when it forks (and carries it over `exec`), so a crawler started by the test
//! process, which holds hundreds of MiB of fixtures and logs, would report the test
//! process's size. Started from this small program, it reports its own.

use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Command, ExitCode, ExitStatus};

// The child is reaped by `wait4`, which clippy cannot see.
#[allow(clippy::zombie_processes)]
fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    let (Some(out), Some(program)) = (args.next(), args.next()) else {
        eprintln!("usage: peak-rss OUT PROGRAM [ARGS...]");
        return ExitCode::from(2);
    };
    let mut command = Command::new(&program);
    command.args(args);
    // SAFETY: runs in the child between fork and exec, where only async-signal-safe
    // calls are allowed; prctl is one, takes integers only, and touches no memory. It
    // makes the child die with this process (a test's watchdog kills this one).
    unsafe {
        command.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
    let child = match command.spawn() {
        Ok(child) => child,
        Err(e) => {
            eprintln!("peak-rss: cannot run {}: {e}", program.to_string_lossy());
            return ExitCode::from(127);
        }
    };
    let Ok(pid) = libc::pid_t::try_from(child.id()) else {
        return ExitCode::from(1);
    };
    let mut status: libc::c_int = 0;
    // SAFETY: an all-zero `rusage` is a valid value of this plain C struct.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `pid` is our own unreaped child (`child` is never waited on), and both
    // pointers are to live, writable locals.
    let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    if reaped != pid {
        eprintln!("peak-rss: wait4: {}", std::io::Error::last_os_error());
        return ExitCode::from(1);
    }
    if let Err(e) = std::fs::write(&out, usage.ru_maxrss.to_string()) {
        eprintln!("peak-rss: cannot write {}: {e}", out.to_string_lossy());
        return ExitCode::from(1);
    }
    let status = ExitStatus::from_raw(status);
    let code = status
        .code()
        .unwrap_or_else(|| 128 + status.signal().unwrap_or(0));
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}
