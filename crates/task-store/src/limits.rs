//! The size limits of the contract: the same on every backend, so that a
//! pipeline that runs on SQLite runs on MongoDB.
//!
//! MongoDB refuses a document over 16 MiB; SQLite, sled and memory would
//! accept anything. Rather than let one backend fail late, every store
//! refuses, before writing anything, a user document larger than
//! [`MAX_FIELD_BYTES`]: a task's `def`, `filter` and `res`, and a record's
//! `task`, `params`, `metrics` and `tags`.
//!
//! A field's size is its [`encoded_len`]: the number of bytes it takes as a
//! BSON value in taskpool's document encoding (object keys holding `%`, `.`,
//! NUL or a leading `$` escaped with two more bytes per character, an array
//! nested in an array wrapped in a one-key document). That is what MongoDB
//! counts, so the bound is exact where it matters, and it is a property of
//! the JSON value alone, so every backend measures the same number. It is
//! close to the length of the compact JSON for text-heavy documents and
//! larger for arrays of small numbers (a BSON array element carries its
//! index as a key and 8 bytes per number).
//!
//! Why 3 MiB: a task document holds three user fields (`def`, `filter`
//! defaults to a copy of `def`, and `res`), at most 9 MiB together, plus the
//! error history (at most [`MAX_ERRORS`](crate::MAX_ERRORS) messages of
//! [`MAX_ERROR_MESSAGE_BYTES`](crate::MAX_ERROR_MESSAGE_BYTES)), the lease
//! owner (at most [`MAX_OWNER_BYTES`]) and a few hundred bytes of fixed
//! fields: under 9.2 MiB in all, well inside 16 MiB. A record holds four
//! (`task`, `params`, `metrics`, `tags`): at most 12 MiB plus its names.
//! Larger outputs belong in artifacts, which have no such limit.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::error::{Error, Result};

/// The largest encoded size, in bytes, of one user document field (see the
/// module docs): 3 MiB.
pub const MAX_FIELD_BYTES: usize = 3 * 1024 * 1024;

/// The deepest nesting of objects and arrays a user document field may have
/// (`{"a": {"b": 1}}` has depth 2). MongoDB refuses documents nested more
/// than 100 levels; a field sits one level down in its task document, and
/// an array nested in an array takes two levels once wrapped, so 32 levels
/// of JSON never reach MongoDB's limit.
pub const MAX_DEPTH: usize = 32;

/// The longest lease owner name a claim accepts, in bytes.
pub const MAX_OWNER_BYTES: usize = 1024;

/// The bytes `value` takes as a BSON value (without the element's type byte
/// and key) in taskpool's document encoding.
pub fn encoded_len(value: &Value) -> usize {
    value_len(value, false)
}

/// Checks that `value`, the field called `field` (`def`, `res`,
/// `tasks[2].filter`), is at most [`MAX_FIELD_BYTES`] and nested at most
/// [`MAX_DEPTH`] levels.
///
/// # Errors
/// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) naming the
/// field, its size (or depth) and the limit, and pointing to artifacts.
pub fn check_field_size(field: &str, value: &Value) -> Result<()> {
    if depth(value) > MAX_DEPTH {
        return Err(Error::invalid_input(format!(
            "{field} is nested more than {MAX_DEPTH} levels deep, over the limit of every \
             backend: flatten it, or store it as an artifact of a record"
        )));
    }
    check_len(field, encoded_len(value))
}

/// The nesting depth of `value`: 0 for a scalar, 1 for `{}` or `[1]`.
fn depth(value: &Value) -> usize {
    match value {
        Value::Array(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
        Value::Object(map) => 1 + map.values().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

/// [`check_field_size`] for a map of JSON values stored as a document
/// (record params).
///
/// # Errors
/// As [`check_field_size`].
pub(crate) fn check_map_size(field: &str, map: &BTreeMap<String, Value>) -> Result<()> {
    let len = document_len(
        map.iter()
            .map(|(k, v)| (escaped_key_len(k), value_len(v, false))),
    );
    check_len(field, len)
}

/// [`check_field_size`] for record metrics (8 bytes per value).
///
/// # Errors
/// As [`check_field_size`].
pub(crate) fn check_metrics_size(metrics: &BTreeMap<String, f64>) -> Result<()> {
    check_len(
        "metrics",
        document_len(metrics.keys().map(|k| (escaped_key_len(k), 8))),
    )
}

/// [`check_field_size`] for record tags (strings).
///
/// # Errors
/// As [`check_field_size`].
pub(crate) fn check_tags_size(tags: &BTreeMap<String, String>) -> Result<()> {
    check_len(
        "tags",
        document_len(
            tags.iter()
                .map(|(k, v)| (escaped_key_len(k), string_len(v))),
        ),
    )
}

fn check_len(field: &str, len: usize) -> Result<()> {
    if len <= MAX_FIELD_BYTES {
        return Ok(());
    }
    Err(Error::invalid_input(format!(
        "{field} is {len} bytes encoded, over the limit of {MAX_FIELD_BYTES} bytes per field \
         (the same on every backend, so that every task fits a MongoDB document): store large \
         outputs as artifacts of a record and keep a reference in the result"
    )))
}

fn value_len(value: &Value, in_array: bool) -> usize {
    match value {
        Value::Null => 0,
        Value::Bool(_) => 1,
        Value::Number(_) => 8,
        Value::String(s) => string_len(s),
        Value::Array(items) => {
            let array = document_len(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| (index_len(i), value_len(item, true))),
            );
            if in_array {
                // {"%array": [...]}: the wrapper document around it.
                4 + 1 + "%array".len() + 1 + array + 1
            } else {
                array
            }
        }
        Value::Object(map) => object_len(map),
    }
}

fn object_len(map: &Map<String, Value>) -> usize {
    document_len(
        map.iter()
            .map(|(k, v)| (escaped_key_len(k), value_len(v, false))),
    )
}

/// The length of a document (or array) whose elements have keys of the
/// given (stored) lengths and values of the given sizes.
fn document_len(elements: impl Iterator<Item = (usize, usize)>) -> usize {
    // int32 length + elements (type byte, key, NUL, value) + trailing NUL.
    4 + elements
        .map(|(key, value)| 1 + key + 1 + value)
        .sum::<usize>()
        + 1
}

fn string_len(s: &str) -> usize {
    4 + s.len() + 1
}

/// The number of decimal digits of an array index (its BSON key).
fn index_len(i: usize) -> usize {
    i.checked_ilog10().map_or(1, |d| d as usize + 1)
}

/// A key's length after escaping `%`, `.`, NUL and a leading `$` (each
/// becomes `%XX`).
fn escaped_key_len(key: &str) -> usize {
    let escaped = key.bytes().filter(|b| matches!(b, b'%' | b'.' | 0)).count()
        + usize::from(key.starts_with('$'));
    key.len() + 2 * escaped
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn encoded_len_counts_bson_bytes() {
        assert_eq!(encoded_len(&json!({})), 5);
        // 4 + (1 + "a" + 1 + 8) + 1
        assert_eq!(encoded_len(&json!({"a": 1})), 16);
        // 4 + (1 + "s" + 1 + (4 + 3 + 1)) + 1
        assert_eq!(encoded_len(&json!({"s": "abc"})), 16);
        // array keys "0".."10": ten of one digit, one of two
        let array = Value::Array(vec![json!(true); 11]);
        assert_eq!(
            encoded_len(&array),
            4 + 10 * (1 + 1 + 1 + 1) + (1 + 2 + 1 + 1) + 1
        );
        // `.` and a leading `$` are escaped (two more bytes each)
        assert_eq!(
            encoded_len(&json!({"$a.b": null})),
            encoded_len(&json!({"xxaxxxbx": null}))
        );
        // a nested array is wrapped
        assert_eq!(
            encoded_len(&json!([[]])),
            4 + (1 + 1 + 1 + (4 + 1 + 6 + 1 + 5 + 1)) + 1
        );
    }

    #[test]
    fn check_field_size_refuses_deep_nesting() {
        let mut value = json!(1);
        for _ in 0..MAX_DEPTH {
            value = json!({"a": value});
        }
        check_field_size("def", &value).unwrap();
        let deeper = json!([value]);
        let err = check_field_size("def", &deeper).unwrap_err();
        assert!(err.to_string().contains("nested more than 32"), "{err}");
    }

    #[test]
    fn check_field_size_accepts_the_limit_and_refuses_one_byte_more() {
        // {"s": "x…"} is 13 bytes plus the string's length.
        let at = json!({"s": "x".repeat(MAX_FIELD_BYTES - 13)});
        assert_eq!(encoded_len(&at), MAX_FIELD_BYTES);
        check_field_size("res", &at).unwrap();
        let over = json!({"s": "x".repeat(MAX_FIELD_BYTES - 12)});
        let err = check_field_size("res", &over).unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::InvalidInput);
        let message = err.to_string();
        assert!(message.contains("res is 3145729 bytes"), "{message}");
        assert!(message.contains("artifacts"), "{message}");
    }
}
