//! Tie a command's whole process tree to the worker's life (Linux).
//!
//! A worker may die without running any code of its own (SIGKILL, the OOM
//! killer): nothing in the worker can then clean up. Two mechanisms that
//! need no code in the dying process cover the command and everything it
//! started:
//!
//! - **The command itself** gets `PR_SET_PDEATHSIG(SIGKILL)`, set in the
//!   forked child before exec (a worker already gone by then is caught by
//!   comparing the parent's pid). The kernel kills it when the worker dies.
//!   This reaches the direct child only: its own children are reparented,
//!   not signalled.
//! - **Its descendants** are in the command's process group (the command
//!   is started with `process_group(0)`, and children inherit the group).
//!   A **guard** process per command watches the worker and kills the group
//!   when the worker dies. The guard is forked from the command's child
//!   before exec (so it needs no executable of its own, and the library
//!   works inside any host process, Python included), twice, so it is
//!   adopted by init and is never a child the command could reap or wait
//!   for. It leaves the group (so killing the group never kills it first),
//!   closes every file descriptor (so it never holds the command's stdout
//!   open) but the read end of a **death pipe**, and then waits in `poll`:
//!   - the death pipe's write end is held by the worker process only
//!     (close-on-exec, and closed by every guard), so the pipe reports
//!     end-of-file exactly when the worker process is gone, however it died:
//!     the guard sends SIGKILL to the group and exits;
//!   - every [`CHECK_INTERVAL`] it checks that the group still has members
//!     and exits when it is empty (the command and its children finished).
//!
//! The worker itself kills the group whenever it is done with a command
//! (exit, timeout, a lost lease, the end of the grace period), so a command
//! that exits leaving background processes behind leaves no orphan either.
//! A group id stays allocated while any member lives, so the id the guard
//! and the worker signal names that group as long as it has members; once
//! empty, the guard exits within one interval.
//!
//! What this cannot reach: a descendant that leaves the process group on
//! purpose (`setsid`, `setpgid`), as daemons do, and anything when the guard
//! itself is SIGKILLed. A process forked from the worker without exec (a
//! host's `multiprocessing` child) holds the death pipe open until it exits,
//! which delays the guard until then. Containing those needs a cgroup (systemd-run,
//! a container), which is the deployment's job.
//!
//! The guard runs between fork and exec of a multi-threaded process, so it
//! calls only async-signal-safe system calls (fork, setpgid, dup2, close,
//! poll, read, kill, waitpid, _exit) and allocates nothing.

#[cfg(target_os = "linux")]
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
#[cfg(target_os = "linux")]
use std::sync::OnceLock;

/// How often a guard checks that the command's group still has members, in
/// milliseconds.
#[cfg(target_os = "linux")]
const CHECK_INTERVAL: i32 = 250;

/// The death pipe of this process: `(read end, write end)`, both
/// close-on-exec, made once and kept open for the life of the process (its
/// write end closing is what tells guards that the worker is gone).
#[cfg(target_os = "linux")]
fn death_pipe() -> std::io::Result<&'static (OwnedFd, OwnedFd)> {
    static PIPE: OnceLock<Result<(OwnedFd, OwnedFd), i32>> = OnceLock::new();
    PIPE.get_or_init(|| {
        let mut fds = [0 as RawFd; 2];
        // SAFETY: pipe2 writes two descriptors into the array it is given.
        if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
            return Err(std::io::Error::last_os_error().raw_os_error().unwrap_or(0));
        }
        // SAFETY: pipe2 succeeded: both descriptors are open and owned here.
        Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
    })
    .as_ref()
    .map_err(|&errno| std::io::Error::from_raw_os_error(errno))
}

/// Make the command started by `command` and every process it starts in its
/// process group die when the worker process dies, even by SIGKILL (Linux;
/// see the module docs). The command must be started with
/// `process_group(0)`. Elsewhere this does nothing: the worker still kills
/// the group whenever it is done with the command.
///
/// # Errors
/// The death pipe cannot be made (no file descriptors left).
pub(crate) fn tie_to_worker(command: &mut tokio::process::Command) -> std::io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        let (read, write) = death_pipe()?;
        let (read, write) = (read.as_raw_fd(), write.as_raw_fd());
        // SAFETY: getpid(2) has no preconditions.
        let worker = unsafe { libc::getpid() };
        // SAFETY: the closure runs in the forked child before exec and calls
        // only async-signal-safe functions (see `start_guard`).
        unsafe {
            command.pre_exec(move || {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                if libc::getppid() != worker {
                    libc::raise(libc::SIGKILL);
                }
                start_guard(read, write)
            });
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = command;
    Ok(())
}

/// In the command's child, before exec: start the guard of its process
/// group, adopted by init (fork twice, reap the middle process).
///
/// # Safety
/// Call only in a forked child of a multi-threaded process, before exec.
#[cfg(target_os = "linux")]
unsafe fn start_guard(read: RawFd, write: RawFd) -> std::io::Result<()> {
    // SAFETY (whole body): async-signal-safe calls only, no allocation.
    unsafe {
        // The command leads its own group (as `process_group(0)` made it;
        // idempotent).
        if libc::setpgid(0, 0) != 0 {
            return Err(std::io::Error::last_os_error());
        }
        let group = libc::getpid();
        let middle = libc::fork();
        if middle < 0 {
            return Err(std::io::Error::last_os_error());
        }
        if middle == 0 {
            if libc::fork() == 0 {
                guard(group, read, write);
            }
            libc::_exit(0);
        }
        let mut status = 0;
        while libc::waitpid(middle, &mut status, 0) < 0 {
            match *libc::__errno_location() {
                libc::EINTR => {}
                // SIGCHLD ignored by the host: the middle process reaped itself.
                libc::ECHILD => break,
                _ => return Err(std::io::Error::last_os_error()),
            }
        }
        Ok(())
    }
}

/// The guard's life: leave the group, keep only the death pipe's read end,
/// kill the group when the worker dies, exit when the group is empty.
///
/// # Safety
/// As [`start_guard`]: a forked child that never returns.
#[cfg(target_os = "linux")]
unsafe fn guard(group: libc::pid_t, read: RawFd, write: RawFd) -> ! {
    // SAFETY (whole body): async-signal-safe calls only, no allocation.
    unsafe {
        libc::setpgid(0, 0);
        libc::close(write);
        libc::dup2(read, 0);
        close_from(1);
        let mut watched = libc::pollfd {
            fd: 0,
            events: libc::POLLIN,
            revents: 0,
        };
        loop {
            let ready = libc::poll(&mut watched, 1, CHECK_INTERVAL);
            if ready > 0 {
                let mut byte = 0u8;
                let n = libc::read(0, (&raw mut byte).cast(), 1);
                if n == 0 || (n < 0 && *libc::__errno_location() != libc::EINTR) {
                    // End of file: no process holds the write end, the worker is gone.
                    libc::kill(-group, libc::SIGKILL);
                    libc::_exit(0);
                }
            } else if libc::kill(-group, 0) != 0 && *libc::__errno_location() == libc::ESRCH {
                libc::_exit(0);
            }
        }
    }
}

/// Close every file descriptor from `first` up.
///
/// # Safety
/// In a forked child only: descriptors owned by other code are closed.
#[cfg(target_os = "linux")]
unsafe fn close_from(first: u32) {
    // SAFETY: close_range(2) and close(2) are async-signal-safe.
    unsafe {
        if libc::syscall(libc::SYS_close_range, first, u32::MAX, 0) == 0 {
            return;
        }
        // Kernels before 5.9: close them one by one.
        let max = libc::sysconf(libc::_SC_OPEN_MAX).clamp(1024, 65_536) as i32;
        for fd in first as i32..max {
            libc::close(fd);
        }
    }
}
