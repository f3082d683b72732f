//! The process's open-file limit, raised at start.
//!
//! A crawl holds a socket per connection and a few dozen store files, and many
//! systems start processes with a soft limit of 1,024 descriptors under a much
//! higher hard limit. The soft limit is raised to the hard one, which any process
//! may do; the store and the fetcher still wait for a descriptor rather than fail
//! when even that is reached.

/// Raises the soft `RLIMIT_NOFILE` to the hard limit; logs what it did at debug.
#[cfg(unix)]
pub fn raise_open_files_limit() {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `getrlimit` writes one `rlimit` through the pointer, which points to a
    // live, writable local of that type.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        tracing::debug!(error = %std::io::Error::last_os_error(), "cannot read the open-file limit");
        return;
    }
    if limit.rlim_cur >= limit.rlim_max {
        tracing::debug!(
            limit = limit.rlim_cur,
            "open-file limit already at its hard limit"
        );
        return;
    }
    let raised = libc::rlimit {
        rlim_cur: limit.rlim_max,
        rlim_max: limit.rlim_max,
    };
    // SAFETY: `setrlimit` reads one `rlimit` through the pointer, a live local.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
        tracing::debug!(
            from = limit.rlim_cur,
            to = raised.rlim_cur,
            "raised the open-file limit"
        );
    } else {
        tracing::debug!(
            error = %std::io::Error::last_os_error(),
            soft = limit.rlim_cur,
            hard = limit.rlim_max,
            "cannot raise the open-file limit"
        );
    }
}

#[cfg(not(unix))]
pub fn raise_open_files_limit() {}
