//! [`Shutdown`]: how a worker is told to stop.

use std::sync::Arc;

use tokio::sync::watch;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Running,
    /// Stop claiming; running tasks get the grace period. Carries the signal
    /// that asked for it, if any.
    Requested(Option<i32>),
    /// Stop now: running tasks are handed back without waiting for the grace period.
    Forced(Option<i32>),
}

/// A shutdown switch shared by whoever decides to stop (a signal handler, a
/// trainer) and the workers that obey it. Clones share the same switch.
///
/// Two stages: [`request`](Shutdown::request) stops claiming and lets running
/// tasks finish within the worker's grace period; [`force`](Shutdown::force)
/// ends the grace period at once. The CLI requests on the first SIGINT/SIGTERM
/// and forces on the second.
#[derive(Debug, Clone)]
pub struct Shutdown {
    sender: Arc<watch::Sender<Stage>>,
}

impl Default for Shutdown {
    fn default() -> Shutdown {
        Shutdown::new()
    }
}

impl Shutdown {
    /// A switch that has not been pulled.
    pub fn new() -> Shutdown {
        Shutdown {
            sender: Arc::new(watch::Sender::new(Stage::Running)),
        }
    }

    /// Ask for a graceful stop, naming the Unix signal that caused it (if any)
    /// so external commands receive the same signal. A second request does
    /// not change the recorded signal.
    pub fn request(&self, signal: Option<i32>) {
        self.sender.send_if_modified(|stage| match stage {
            Stage::Running => {
                *stage = Stage::Requested(signal);
                true
            }
            _ => false,
        });
    }

    /// Stop without waiting for running tasks: they are handed back now.
    pub fn force(&self) {
        self.sender.send_if_modified(|stage| match *stage {
            Stage::Running => {
                *stage = Stage::Forced(None);
                true
            }
            Stage::Requested(signal) => {
                *stage = Stage::Forced(signal);
                true
            }
            Stage::Forced(_) => false,
        });
    }

    /// Whether a stop was requested (or forced).
    pub fn is_requested(&self) -> bool {
        *self.sender.borrow() != Stage::Running
    }

    /// Whether the stop was forced.
    pub fn is_forced(&self) -> bool {
        matches!(*self.sender.borrow(), Stage::Forced(_))
    }

    /// The signal that asked for the stop, if the stop came from a signal.
    pub fn signal(&self) -> Option<i32> {
        match *self.sender.borrow() {
            Stage::Running => None,
            Stage::Requested(signal) | Stage::Forced(signal) => signal,
        }
    }

    /// Resolves once a stop is requested (or forced).
    pub async fn requested(&self) {
        self.wait_until(|stage| *stage != Stage::Running).await;
    }

    /// Resolves once the stop is forced.
    pub async fn forced(&self) {
        self.wait_until(|stage| matches!(stage, Stage::Forced(_)))
            .await;
    }

    async fn wait_until(&self, done: impl FnMut(&Stage) -> bool) {
        let mut receiver = self.sender.subscribe();
        // The sender lives in `self`, so the channel cannot close while we wait.
        let _ = receiver.wait_for(done).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn request_then_force_keeps_the_signal() {
        let shutdown = Shutdown::new();
        assert!(!shutdown.is_requested());
        shutdown.request(Some(libc::SIGTERM));
        shutdown.requested().await;
        assert!(shutdown.is_requested() && !shutdown.is_forced());
        shutdown.request(Some(libc::SIGINT));
        assert_eq!(shutdown.signal(), Some(libc::SIGTERM));
        shutdown.clone().force();
        shutdown.forced().await;
        assert!(shutdown.is_forced());
        assert_eq!(shutdown.signal(), Some(libc::SIGTERM));
    }
}
