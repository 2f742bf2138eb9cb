//! Pool names.

use crate::error::{Error, Result};

/// The longest pool name.
pub const MAX_POOL_NAME_LEN: usize = 64;

/// Checks a pool name: 1–64 characters from `A–Z a–z 0–9 _ - .`, not starting
/// with `.` or `system.` (names every backend can use as a table or collection).
///
/// # Errors
/// [`ErrorKind::Config`](crate::ErrorKind::Config) saying what is wrong.
pub fn validate_pool_name(name: &str) -> Result<()> {
    let ok_chars = name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
    if name.is_empty() || name.len() > MAX_POOL_NAME_LEN || !ok_chars {
        return Err(Error::config(format!(
            "invalid pool name {name:?}: use 1 to {MAX_POOL_NAME_LEN} characters from A-Z a-z 0-9 _ - ."
        )));
    }
    if name.starts_with('.') || name.starts_with("system.") {
        return Err(Error::config(format!(
            "invalid pool name {name:?}: it may not start with '.' or 'system.'"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool_names() {
        for ok in ["rolling_task", "a", "exp-1.v2"] {
            validate_pool_name(ok).unwrap();
        }
        for bad in [
            "",
            "a b",
            "x/y",
            ".hidden",
            "system.users",
            "é",
            &"x".repeat(65),
        ] {
            assert_eq!(
                validate_pool_name(bad).unwrap_err().kind(),
                crate::ErrorKind::Config
            );
        }
    }
}
