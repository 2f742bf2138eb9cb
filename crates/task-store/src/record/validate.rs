//! Name and size rules every backend applies before touching storage.

use crate::error::{Error, Result};

/// The longest artifact every backend stores (512 MiB).
pub const MAX_ARTIFACT_LEN: usize = 512 * 1024 * 1024;
/// The longest artifact name, in bytes.
pub const MAX_ARTIFACT_NAME_LEN: usize = 255;
/// The longest parameter, metric or tag name, in bytes.
pub const MAX_FIELD_NAME_LEN: usize = 255;
const MAX_EXPERIMENT_NAME_LEN: usize = 64;

/// Checks an experiment name: 1–64 characters from `A–Z a–z 0–9 _ - .`, not
/// starting with `.` or `system.` (the pool-name rule).
///
/// # Errors
/// [`ErrorKind::Config`](crate::ErrorKind::Config) saying what is wrong.
pub fn validate_experiment_name(name: &str) -> Result<()> {
    let ok_chars = name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
    if name.is_empty() || name.len() > MAX_EXPERIMENT_NAME_LEN || !ok_chars {
        return Err(Error::config(format!(
            "invalid experiment name {name:?}: use 1 to {MAX_EXPERIMENT_NAME_LEN} characters from A-Z a-z 0-9 _ - ."
        )));
    }
    if name.starts_with('.') || name.starts_with("system.") {
        return Err(Error::config(format!(
            "invalid experiment name {name:?}: it may not start with '.' or 'system.'"
        )));
    }
    Ok(())
}

/// Checks an artifact name: a relative path of 1–255 bytes from
/// `A–Z a–z 0–9 _ - . /` whose `/`-separated segments are non-empty and
/// neither `.` nor `..` (`pred`, `sig_analysis/ic.bin`).
///
/// # Errors
/// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) saying what is wrong.
pub fn validate_artifact_name(name: &str) -> Result<()> {
    let ok_chars = name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b'/'));
    if name.is_empty() || name.len() > MAX_ARTIFACT_NAME_LEN || !ok_chars {
        return Err(Error::invalid_input(format!(
            "invalid artifact name {name:?}: use 1 to {MAX_ARTIFACT_NAME_LEN} characters from A-Z a-z 0-9 _ - . /"
        )));
    }
    if name
        .split('/')
        .any(|seg| seg.is_empty() || seg == "." || seg == "..")
    {
        return Err(Error::invalid_input(format!(
            "invalid artifact name {name:?}: path segments may not be empty, '.' or '..'"
        )));
    }
    Ok(())
}

/// Checks an artifact's length against [`MAX_ARTIFACT_LEN`].
///
/// # Errors
/// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) for a longer artifact.
pub fn validate_artifact_len(len: usize) -> Result<()> {
    if len > MAX_ARTIFACT_LEN {
        return Err(Error::invalid_input(format!(
            "artifact of {len} bytes exceeds the limit of {MAX_ARTIFACT_LEN} bytes"
        )));
    }
    Ok(())
}

/// Checks a parameter, metric or tag name (`what` says which).
pub(crate) fn validate_field_name(what: &str, name: &str) -> Result<()> {
    if name.is_empty() || name.len() > MAX_FIELD_NAME_LEN {
        return Err(Error::invalid_input(format!(
            "invalid {what} name {name:?}: use 1 to {MAX_FIELD_NAME_LEN} bytes"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    #[test]
    fn experiment_names_follow_the_pool_rule() {
        for ok in ["rolling_exp", "a", "exp-1.v2"] {
            validate_experiment_name(ok).unwrap();
        }
        for bad in ["", "a b", "x/y", ".hidden", "system.x", &"x".repeat(65)] {
            assert_eq!(
                validate_experiment_name(bad).unwrap_err().kind(),
                ErrorKind::Config
            );
        }
    }

    #[test]
    fn artifact_names_are_relative_paths() {
        for ok in ["pred", "pred.bin", "sig_analysis/ic.bin", "a/b/c"] {
            validate_artifact_name(ok).unwrap();
        }
        for bad in [
            "",
            "/abs",
            "a//b",
            "a/",
            "../x",
            "a/./b",
            ".",
            "sp ace",
            "é",
            &"x".repeat(256),
        ] {
            assert_eq!(
                validate_artifact_name(bad).unwrap_err().kind(),
                ErrorKind::InvalidInput,
                "{bad:?}"
            );
        }
    }

    #[test]
    fn artifact_len_accepts_up_to_the_limit() {
        validate_artifact_len(0).unwrap();
        validate_artifact_len(MAX_ARTIFACT_LEN).unwrap();
        assert_eq!(
            validate_artifact_len(MAX_ARTIFACT_LEN + 1)
                .unwrap_err()
                .kind(),
            ErrorKind::InvalidInput
        );
    }

    #[test]
    fn field_names_are_non_empty_and_bounded() {
        validate_field_name("metric", "ic").unwrap();
        validate_field_name("param", "model.kwargs.alpha").unwrap();
        for bad in ["", &"x".repeat(256)] {
            assert_eq!(
                validate_field_name("tag", bad).unwrap_err().kind(),
                ErrorKind::InvalidInput
            );
        }
    }
}
