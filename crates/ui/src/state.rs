//! [`AppState`]: what every handler shares: the store, the options, the
//! CSRF key and the secrets to scrub from messages.

use std::sync::Arc;
use std::time::Duration;

use taskpool::store::redact::Secrets;
use taskpool::store::{Store, Timestamp};

use crate::csrf::CsrfKey;
use crate::options::UiOptions;

/// Shared by every handler (cheap to clone).
#[derive(Clone)]
pub(crate) struct AppState(Arc<Inner>);

struct Inner {
    store: Arc<dyn Store>,
    label: String,
    token: Option<blake3::Hash>,
    read_only: bool,
    duration_window: Duration,
    csrf: CsrfKey,
    secrets: Secrets,
}

impl AppState {
    pub(crate) fn new(store: Arc<dyn Store>, options: &UiOptions, secrets: Secrets) -> AppState {
        AppState(Arc::new(Inner {
            label: store.to_string(),
            store,
            token: options.token.as_deref().map(|t| blake3::hash(t.as_bytes())),
            read_only: options.read_only,
            duration_window: options.duration_window,
            csrf: CsrfKey::random(),
            secrets,
        }))
    }

    pub(crate) fn store(&self) -> &dyn Store {
        self.0.store.as_ref()
    }

    /// The store URL, password redacted (the store's `Display`).
    pub(crate) fn label(&self) -> &str {
        &self.0.label
    }

    pub(crate) fn read_only(&self) -> bool {
        self.0.read_only
    }

    pub(crate) fn needs_token(&self) -> bool {
        self.0.token.is_some()
    }

    /// Whether `given` is the configured token (constant-time comparison of
    /// hashes); true when no token is configured.
    pub(crate) fn token_matches(&self, given: &str) -> bool {
        self.0
            .token
            .is_none_or(|t| t == blake3::hash(given.as_bytes()))
    }

    pub(crate) fn duration_window(&self) -> Duration {
        self.0.duration_window
    }

    /// A fresh CSRF token for a page.
    pub(crate) fn csrf_token(&self) -> String {
        self.0.csrf.issue(Timestamp::now())
    }

    pub(crate) fn csrf_valid(&self, token: &str) -> bool {
        self.0.csrf.verify(token, Timestamp::now())
    }

    /// `text` with every password of the store URL replaced by `***`.
    pub(crate) fn scrub(&self, text: &str) -> String {
        self.0.secrets.scrub(text)
    }
}
