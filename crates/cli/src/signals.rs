//! SIGTERM and SIGINT for the commands that stop gracefully (`worker`,
//! `run-worker`, `run`): the first signal asks the work to stop, the next
//! ones force it.

use taskpool::pipeline::worker::Shutdown;
use tokio::signal::unix::{Signal, SignalKind, signal};

/// The stop signals, listened to from creation on.
pub struct StopSignals {
    term: Signal,
    int: Signal,
}

/// What a received signal did to the [`Shutdown`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// The first signal (its number): claim nothing more; running tasks get
    /// the grace period, then are handed back.
    Requested(i32),
    /// A later signal: running tasks are handed back now.
    Forced,
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

    /// Obey the signals until the returned future is dropped (or its task
    /// aborted): the first one requests `shutdown` with its number, every
    /// later one forces it. `told` hears about each, after it is logged and
    /// before `shutdown` changes.
    pub async fn obey(mut self, shutdown: Shutdown, told: impl Fn(Stop)) {
        loop {
            let received = self.next().await;
            if shutdown.is_requested() {
                tracing::warn!("second signal: handing running tasks back now");
                told(Stop::Forced);
                shutdown.force();
            } else {
                tracing::warn!(
                    signal = signal_name(received),
                    "stopping: no new tasks; running tasks get the grace period"
                );
                told(Stop::Requested(received));
                shutdown.request(Some(received));
            }
        }
    }
}

/// `SIGINT` or `SIGTERM`.
pub fn signal_name(signal: i32) -> &'static str {
    if signal == libc::SIGINT {
        "SIGINT"
    } else {
        "SIGTERM"
    }
}
