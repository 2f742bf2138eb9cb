//! SIGTERM and SIGINT for the commands that stop gracefully (`worker`, `run`).

use tokio::signal::unix::{Signal, SignalKind, signal};

/// The stop signals, listened to from creation on.
pub struct StopSignals {
    term: Signal,
    int: Signal,
}

impl StopSignals {
    /// Start listening for SIGTERM and SIGINT.
    ///
    /// # Errors
    /// When a signal handler cannot be installed.
    pub fn listen() -> std::io::Result<StopSignals> {
        Ok(StopSignals {
            term: signal(SignalKind::terminate())?,
            int: signal(SignalKind::interrupt())?,
        })
    }

    /// The number of the next SIGTERM or SIGINT received.
    pub async fn next(&mut self) -> i32 {
        tokio::select! {
            _ = self.term.recv() => libc::SIGTERM,
            _ = self.int.recv() => libc::SIGINT,
        }
    }
}
