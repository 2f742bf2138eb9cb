//! Content keys: a task's identity for deduplication.
//!
//! The key is the BLAKE3 hash (hex) of the canonical JSON of the definition:
//! object keys sorted, no whitespace, and numbers normalised so that `1`,
//! `1.0` and `1e0` hash alike. Field order and number spelling therefore never
//! create duplicates (Qlib's raw-document equality did, see reference §9 B).

use std::io::{self, Write};

use serde_json::{Map, Value};

/// The canonical JSON text of `value`.
pub fn canonical_json(value: &Value) -> String {
    let mut out = Vec::new();
    write_canonical(value, &mut out).expect("writing to a Vec never fails");
    String::from_utf8(out).expect("JSON text is UTF-8")
}

/// The content key of a definition: hex BLAKE3 of [`canonical_json`].
pub fn content_key(def: &Value) -> String {
    // Written whole, then hashed in one call: a definition is small, and
    // feeding the hasher one token at a time costs more than the buffer.
    let mut text = Vec::with_capacity(256);
    write_canonical(def, &mut text).expect("writing to a Vec never fails");
    blake3::hash(&text).to_hex().to_string()
}

fn write_canonical(value: &Value, out: &mut impl Write) -> io::Result<()> {
    match value {
        Value::Null | Value::Bool(_) | Value::String(_) => serde_json::to_writer(out, value)?,
        Value::Number(n) => write_number(n, out)?,
        Value::Array(items) => {
            out.write_all(b"[")?;
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.write_all(b",")?;
                }
                write_canonical(item, out)?;
            }
            out.write_all(b"]")?;
        }
        Value::Object(map) => write_object(map, out)?,
    }
    Ok(())
}

/// An object with its keys in byte order (the order in which a `Map`
/// without serde_json's `preserve_order` feature already iterates).
fn write_object(map: &Map<String, Value>, out: &mut impl Write) -> io::Result<()> {
    let write_entries = |entries: &mut dyn Iterator<Item = (&String, &Value)>,
                         out: &mut dyn Write|
     -> io::Result<()> {
        out.write_all(b"{")?;
        for (i, (k, v)) in entries.enumerate() {
            if i > 0 {
                out.write_all(b",")?;
            }
            serde_json::to_writer(&mut *out, k)?;
            out.write_all(b":")?;
            write_canonical(v, &mut &mut *out)?;
        }
        out.write_all(b"}")
    };
    if map.keys().is_sorted() {
        write_entries(&mut map.iter(), out)
    } else {
        let mut entries: Vec<_> = map.iter().collect();
        entries.sort_by(|a, b| a.0.cmp(b.0));
        write_entries(&mut entries.into_iter(), out)
    }
}

fn write_number(n: &serde_json::Number, out: &mut impl Write) -> io::Result<()> {
    if let Some(i) = n.as_i64() {
        return write!(out, "{i}");
    }
    if let Some(u) = n.as_u64() {
        return write!(out, "{u}");
    }
    let f = n.as_f64().unwrap_or(0.0);
    if f.fract() == 0.0 && f.abs() < 9.007_199_254_740_992e15 {
        write!(out, "{}", f as i64)
    } else {
        write!(out, "{f:?}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn key_ignores_field_order_and_number_spelling() {
        let a = json!({"model": {"class": "LGB", "lr": 0.1}, "n": 1});
        let b: Value =
            serde_json::from_str(r#"{"n": 1.0, "model": {"lr": 1e-1, "class": "LGB"}}"#).unwrap();
        assert_eq!(content_key(&a), content_key(&b));
        assert_ne!(content_key(&a), content_key(&json!({"n": 2})));
    }

    #[test]
    fn canonical_json_spells_every_kind_as_before() {
        // The stored keys of existing pools depend on this exact text.
        let value: Value = serde_json::from_str(
            r#"{"z": {"y": -0.0, "x": 1e300, "w": 2.0, "v": 18446744073709551615},
                "a\"b": ["\u00e9\n\u0001", true, false, null, -3, 0.1]}"#,
        )
        .unwrap();
        let text = canonical_json(&value);
        assert_eq!(
            text,
            r#"{"a\"b":["é\n\u0001",true,false,null,-3,0.1],"z":{"v":18446744073709551615,"w":2,"x":1e300,"y":0}}"#
        );
        assert_eq!(
            content_key(&value),
            blake3::hash(text.as_bytes()).to_hex().to_string()
        );
    }

    #[test]
    fn canonical_json_is_compact_and_sorted() {
        assert_eq!(
            canonical_json(&json!({"b": [1, 2.5, null], "a": "x"})),
            r#"{"a":"x","b":[1,2.5,null]}"#
        );
    }
}
