//! The integer range every backend stores: JSON integers must fit in a
//! 64-bit signed integer.
//!
//! JSON itself has no limit, and `serde_json` parses integers up to
//! `u64::MAX` exactly, but BSON (MongoDB) has no wider integer than `Int64`,
//! and SQLite's JSON functions read an integer beyond `i64` as a float, so a
//! query would compare it rounded. Rather than store a value that one backend
//! cannot hold and another cannot compare exactly, every store rejects it up
//! front, with the path of the offending value. (Integers below `i64::MIN`
//! are parsed as floats by `serde_json`, so they never reach here as
//! integers.)

use serde_json::Value;

use crate::error::{Error, Result};

/// Checks that every integer in `value` fits in `i64`.
///
/// `path` names `value` in the message (`def`, `result`, `tasks[2].filter`).
///
/// # Errors
/// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) naming the
/// JSON path of the first integer beyond `i64::MAX`.
pub fn check_int_range(path: &str, value: &Value) -> Result<()> {
    match first_out_of_range(value) {
        None => Ok(()),
        Some((inner, number)) => Err(Error::invalid_input(format!(
            "{path}{inner}: the integer {number} is beyond {max}, the largest integer every \
             backend stores (64-bit signed; BSON has no wider integer): write it as a string or \
             a float",
            max = i64::MAX
        ))),
    }
}

/// The path below `value` (`.a[2].b`) and the text of its first integer
/// beyond `i64`, if any.
fn first_out_of_range(value: &Value) -> Option<(String, String)> {
    match value {
        Value::Number(n) if n.is_u64() && !n.is_i64() => Some((String::new(), n.to_string())),
        Value::Array(items) => items.iter().enumerate().find_map(|(i, item)| {
            first_out_of_range(item).map(|(inner, n)| (format!("[{i}]{inner}"), n))
        }),
        Value::Object(map) => map.iter().find_map(|(key, item)| {
            first_out_of_range(item).map(|(inner, n)| (format!("{}{inner}", segment(key)), n))
        }),
        _ => None,
    }
}

/// `.key` for a plain key, `["key"]` (JSON-quoted) for any other.
fn segment(key: &str) -> String {
    let plain = !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if plain {
        format!(".{key}")
    } else {
        format!("[{}]", Value::String(key.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::ErrorKind;

    #[test]
    fn check_int_range_accepts_the_i64_range_and_floats() {
        let ok = json!({"a": i64::MAX, "b": i64::MIN, "c": [1.5e300, -0.0], "d": {"e": null}});
        assert!(check_int_range("def", &ok).is_ok());
    }

    #[test]
    fn check_int_range_rejects_an_integer_beyond_i64_as_invalid_input() {
        let big = i64::MAX as u64 + 1;
        let err = check_int_range("def", &json!({"a": [big]})).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
    }

    #[test]
    fn first_out_of_range_gives_the_path_of_the_first_big_integer() {
        let big = i64::MAX as u64 + 1;
        for (value, path) in [
            (json!(big), ""),
            (json!({"a": {"b": [0, big]}, "z": u64::MAX}), ".a.b[1]"),
            (json!({"x.y": [[big]]}), "[\"x.y\"][0][0]"),
        ] {
            assert_eq!(
                first_out_of_range(&value),
                Some((path.to_string(), big.to_string()))
            );
        }
        assert_eq!(first_out_of_range(&json!({"a": [i64::MAX]})), None);
    }
}
