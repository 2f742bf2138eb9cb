//! The value codec: JSON ⇄ BSON for the user documents of a task (`def`,
//! `filter`, `res`) and the JSON values of a record.
//!
//! The conversion is exact in both directions, so a document read back equals
//! the JSON that was stored:
//!
//! - integers become `Int64` (an integer beyond `i64` is rejected: BSON has no
//!   wider integer), other numbers `Double`; `Int32` and `Int64` read back as
//!   JSON integers, `Double` as JSON floats (`1.0` stays `1.0`);
//! - object keys that MongoDB-wire servers refuse or treat specially are
//!   escaped: `%` → `%25`, `.` → `%2E`, NUL → `%00`, and a leading `$` →
//!   `%24`. A key holding none of these is stored as is;
//! - an array directly inside an array is stored as `{"%array": [...]}`
//!   (FerretDB cannot store nested arrays). The wrapper key cannot collide
//!   with a user key: escaped keys never hold a `%` that is not followed by
//!   two hex digits.
//!
//! Neither rewrite changes what a query matches: query paths are escaped the
//! same way (see [`escape_key`]), a query path can never name a key holding
//! `.` or starting with `$`, and queries never look inside arrays.

use std::borrow::Cow;

use mongodb::bson::raw::{CStr, RawArrayBuf, RawBson, RawBsonRef, RawDocumentBuf, cstr};
use mongodb::bson::{Bson, Document};
use serde_json::{Map, Number, Value};
use task_store::Result;

use crate::error::MongoError;

/// The key of the document that stands for an array nested in an array.
const NESTED_ARRAY_KEY: &CStr = cstr!("%array");

/// A JSON value as BSON.
///
/// # Errors
/// `InvalidInput` for an integer outside the `i64` range.
pub(crate) fn to_bson(value: &Value) -> Result<Bson> {
    let raw = match raw(value, false)? {
        Raw::Scalar(v) => return Bson::try_from(v).map_err(unencodable),
        Raw::Document(d) => RawBson::Document(d),
        Raw::Array(a) => RawBson::Array(a),
    };
    Bson::try_from(raw).map_err(unencodable)
}

/// A JSON value encoded in the stored form [`to_bson`] gives it, written
/// straight as BSON bytes (no `Bson` tree in between: the bulk path of
/// `create`), ready to be appended to documents.
pub(crate) struct Encoded<'a>(Raw<'a>);

impl Encoded<'_> {
    /// Encode `value`.
    ///
    /// # Errors
    /// `InvalidInput` for an integer outside the `i64` range.
    pub(crate) fn new(value: &Value) -> Result<Encoded<'_>> {
        raw(value, false).map(Encoded)
    }

    /// Append the value to `doc` under `key`.
    pub(crate) fn append_to(&self, doc: &mut RawDocumentBuf, key: &CStr) {
        match &self.0 {
            Raw::Scalar(v) => doc.append(key, *v),
            Raw::Document(d) => doc.append(key, d),
            Raw::Array(a) => doc.append(key, a),
        }
    }
}

/// A JSON value in its stored form: a scalar borrowing the value's string,
/// or an encoded document or array.
enum Raw<'a> {
    Scalar(RawBsonRef<'a>),
    Document(RawDocumentBuf),
    Array(RawArrayBuf),
}

fn raw(value: &Value, in_array: bool) -> Result<Raw<'_>> {
    Ok(match value {
        Value::Null => Raw::Scalar(RawBsonRef::Null),
        Value::Bool(b) => Raw::Scalar(RawBsonRef::Boolean(*b)),
        Value::Number(n) => Raw::Scalar(number_to_bson(n)?),
        Value::String(s) => Raw::Scalar(RawBsonRef::String(s)),
        Value::Array(items) => {
            let mut array = RawArrayBuf::new();
            for item in items {
                match raw(item, true)? {
                    Raw::Scalar(v) => array.push(v),
                    Raw::Document(d) => array.push(d),
                    Raw::Array(a) => array.push(a),
                }
            }
            if in_array {
                let mut wrapper = RawDocumentBuf::new();
                wrapper.append(NESTED_ARRAY_KEY, array);
                Raw::Document(wrapper)
            } else {
                Raw::Array(array)
            }
        }
        Value::Object(map) => {
            let mut doc = RawDocumentBuf::new();
            for (key, value) in map {
                let key = escaped(key);
                // Escaped keys hold no NUL, the one byte a BSON key cannot.
                let key = <&CStr>::try_from(key.as_ref()).map_err(unencodable)?;
                Encoded::new(value)?.append_to(&mut doc, key);
            }
            Raw::Document(doc)
        }
    })
}

fn unencodable(e: impl std::fmt::Display) -> task_store::Error {
    MongoError::Unstorable(format!("a value cannot be encoded as BSON: {e}")).into()
}

fn number_to_bson(n: &Number) -> Result<RawBsonRef<'static>> {
    if let Some(i) = n.as_i64() {
        Ok(RawBsonRef::Int64(i))
    } else if n.is_u64() {
        Err(MongoError::Unstorable(format!(
            "the integer {n} does not fit in MongoDB's 64-bit signed integers"
        ))
        .into())
    } else {
        Ok(RawBsonRef::Double(n.as_f64().unwrap_or(f64::NAN)))
    }
}

/// A BSON value written by [`to_bson`], back as JSON.
///
/// # Errors
/// `Backend` for a value [`to_bson`] never writes (another BSON type, a
/// non-finite double, a badly escaped key).
pub(crate) fn from_bson(value: &Bson) -> Result<Value> {
    Ok(match value {
        Bson::Null => Value::Null,
        Bson::Boolean(b) => Value::Bool(*b),
        Bson::Int32(i) => Value::from(*i),
        Bson::Int64(i) => Value::from(*i),
        Bson::Double(f) => Value::Number(Number::from_f64(*f).ok_or_else(|| {
            MongoError::Unexpected(format!(
                "stored number {f} has no JSON form (only finite numbers are stored)"
            ))
        })?),
        Bson::String(s) => Value::String(s.clone()),
        Bson::Array(items) => Value::Array(
            items
                .iter()
                .map(from_array_element)
                .collect::<Result<_>>()?,
        ),
        Bson::Document(doc) => Value::Object(document_to_object(doc)?),
        other => {
            return Err(MongoError::Unexpected(format!(
                "stored value of BSON type {:?} has no JSON form (taskpool writes only JSON values)",
                other.element_type()
            ))
            .into());
        }
    })
}

fn from_array_element(value: &Bson) -> Result<Value> {
    match value {
        Bson::Document(doc) if doc.len() == 1 => match doc.get(NESTED_ARRAY_KEY.as_str()) {
            Some(inner @ Bson::Array(_)) => from_bson(inner),
            _ => from_bson(value),
        },
        _ => from_bson(value),
    }
}

fn document_to_object(doc: &Document) -> Result<Map<String, Value>> {
    let mut map = Map::new();
    for (key, value) in doc {
        map.insert(unescape_key(key)?, from_bson(value)?);
    }
    Ok(map)
}

/// The stored form of an object key (see the module docs).
pub(crate) fn escape_key(key: &str) -> String {
    escaped(key).into_owned()
}

/// [`escape_key`], borrowing the key when it needs no escape (most keys).
fn escaped(key: &str) -> Cow<'_, str> {
    let special = |(i, c): (usize, char)| matches!(c, '%' | '.' | '\0') || (c == '$' && i == 0);
    if !key.char_indices().any(special) {
        return Cow::Borrowed(key);
    }
    let mut out = String::with_capacity(key.len());
    for (i, c) in key.char_indices() {
        match c {
            '%' => out.push_str("%25"),
            '.' => out.push_str("%2E"),
            '\0' => out.push_str("%00"),
            '$' if i == 0 => out.push_str("%24"),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// An object key as [`escape_key`] stored it, back.
///
/// # Errors
/// `Backend` for a key [`escape_key`] never writes.
pub(crate) fn unescape_key(key: &str) -> Result<String> {
    if !key.contains('%') {
        return Ok(key.to_string());
    }
    let bad = || -> task_store::Error {
        MongoError::Unexpected(format!("stored key {key:?} is not a valid escaped key")).into()
    };
    let mut out = String::with_capacity(key.len());
    let mut rest = key;
    while let Some(pos) = rest.find('%') {
        out.push_str(&rest[..pos]);
        let code = rest.get(pos + 1..pos + 3).ok_or_else(bad)?;
        out.push(match code {
            "25" => '%',
            "2E" => '.',
            "00" => '\0',
            "24" => '$',
            _ => return Err(bad()),
        });
        rest = &rest[pos + 3..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn round_trip(v: Value) {
        let back = from_bson(&to_bson(&v).unwrap()).unwrap();
        assert_eq!(back, v, "round trip of {v}");
    }

    #[test]
    fn values_round_trip_exactly() {
        round_trip(json!(null));
        round_trip(json!({"a": 1, "b": 1.0, "c": -2.5, "d": i64::MIN, "e": i64::MAX}));
        round_trip(json!({"s": "é\u{0}x", "t": true, "n": null, "o": {}}));
        round_trip(json!([1, [2, [3, []]], {"x": [[{"y": 1}]]}]));
        round_trip(json!({"a.b": 1, "$x": {"%25": 2, "%array": [[1]]}, "k\u{0}": 3, "x$": 4}));
        round_trip(json!({"%": "%2E", "%a": ""}));
    }

    #[test]
    fn integers_stay_integers_and_floats_stay_floats() {
        assert_eq!(to_bson(&json!(3)).unwrap(), Bson::Int64(3));
        assert_eq!(to_bson(&json!(3.0)).unwrap(), Bson::Double(3.0));
        assert!(from_bson(&Bson::Int32(7)).unwrap().is_i64());
    }

    #[test]
    fn to_bson_rejects_integers_beyond_i64() {
        let err = to_bson(&json!({"big": u64::MAX})).unwrap_err();
        assert_eq!(err.kind(), task_store::ErrorKind::InvalidInput);
    }

    #[test]
    fn escape_key_rewrites_only_special_keys() {
        assert_eq!(escape_key("model"), "model");
        assert_eq!(escape_key("a.b"), "a%2Eb");
        assert_eq!(escape_key("$x$"), "%24x$");
        assert_eq!(escape_key("50%"), "50%25");
    }

    #[test]
    fn from_bson_rejects_foreign_values() {
        let err = from_bson(&Bson::Double(f64::NAN)).unwrap_err();
        assert_eq!(err.kind(), task_store::ErrorKind::Backend);
        let mut doc = Document::new();
        doc.insert("%zz", 1);
        let err = from_bson(&Bson::Document(doc)).unwrap_err();
        assert_eq!(err.kind(), task_store::ErrorKind::Backend);
    }
}
