//! [`UiOptions`]: where the dashboard listens, the token that guards its
//! actions, read-only mode; and the rule that a non-loopback address needs a
//! token.

use std::net::SocketAddr;
use std::time::Duration;

use taskpool::store::{Error, Result};

/// The address `taskpool ui` listens on by default (loopback only).
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8765";

/// The environment variable that may hold the token instead of `--token`.
pub const TOKEN_ENV: &str = "TASKPOOL_UI_TOKEN";

/// How the dashboard serves.
#[derive(Clone)]
pub struct UiOptions {
    /// Where to listen.
    pub listen: SocketAddr,
    /// The token every action must present (form field `token` or
    /// `Authorization: Bearer`); `None` on loopback lets actions through
    /// with the per-page CSRF token alone.
    pub token: Option<String>,
    /// Hide and refuse every action.
    pub read_only: bool,
    /// The window of `taskpool_task_duration_seconds`: done tasks created
    /// this recently are observed.
    pub duration_window: Duration,
}

impl std::fmt::Debug for UiOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UiOptions")
            .field("listen", &self.listen)
            .field("token", &self.token.as_ref().map(|_| "***"))
            .field("read_only", &self.read_only)
            .field("duration_window", &self.duration_window)
            .finish()
    }
}

impl Default for UiOptions {
    fn default() -> UiOptions {
        UiOptions {
            listen: DEFAULT_LISTEN.parse().expect("the default address parses"),
            token: None,
            read_only: false,
            duration_window: Duration::from_secs(3600),
        }
    }
}

impl UiOptions {
    /// Checks that the options are safe to serve with.
    ///
    /// # Errors
    /// [`ErrorKind::Config`](taskpool::store::ErrorKind::Config) when the
    /// address is not loopback and no token is set (anyone who can reach the
    /// port could change the pool), or when the token is empty.
    pub fn validate(&self) -> Result<()> {
        match &self.token {
            Some(token) if token.trim().is_empty() => Err(Error::config(format!(
                "the dashboard token is empty: give a non-empty --token or {TOKEN_ENV}"
            ))),
            Some(_) => Ok(()),
            None if self.listen.ip().is_loopback() => Ok(()),
            None => Err(Error::config(format!(
                "refusing to listen on {} without a token: anyone who can reach a non-loopback \
                 address could change the pool; give --token or set {TOKEN_ENV} (or listen on \
                 127.0.0.1)",
                self.listen
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use taskpool::store::ErrorKind;

    #[test]
    fn validate_refuses_a_public_address_without_token() {
        let public = UiOptions {
            listen: "0.0.0.0:8765".parse().unwrap(),
            ..UiOptions::default()
        };
        assert_eq!(public.validate().unwrap_err().kind(), ErrorKind::Config);
        let with_token = UiOptions {
            token: Some("s3cret".into()),
            ..public
        };
        with_token.validate().unwrap();
        UiOptions::default().validate().unwrap();
    }

    #[test]
    fn validate_refuses_an_empty_token() {
        let empty = UiOptions {
            token: Some(" ".into()),
            ..UiOptions::default()
        };
        assert_eq!(empty.validate().unwrap_err().kind(), ErrorKind::Config);
    }
}
