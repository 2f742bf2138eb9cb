//! Content keys: a task's identity for deduplication.
//!
//! The key is the BLAKE3 hash (hex) of the canonical JSON of the definition:
//! object keys sorted, no whitespace, and numbers normalised so that `1`,
//! `1.0` and `1e0` hash alike. Field order and number spelling therefore never
//! create duplicates (Qlib's raw-document equality did, see reference §9 B).

use serde_json::Value;

/// The canonical JSON text of `value`.
pub fn canonical_json(value: &Value) -> String {
    let mut out = String::new();
    write_canonical(value, &mut out);
    out
}

/// The content key of a definition: hex BLAKE3 of [`canonical_json`].
pub fn content_key(def: &Value) -> String {
    blake3::hash(canonical_json(def).as_bytes())
        .to_hex()
        .to_string()
}

fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Null | Value::Bool(_) | Value::String(_) => {
            out.push_str(&serde_json::to_string(value).expect("scalars serialize"))
        }
        Value::Number(n) => out.push_str(&canonical_number(n)),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (k, v)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&serde_json::to_string(k).expect("strings serialize"));
                out.push(':');
                write_canonical(v, out);
            }
            out.push('}');
        }
    }
}

fn canonical_number(n: &serde_json::Number) -> String {
    if let Some(i) = n.as_i64() {
        return i.to_string();
    }
    if let Some(u) = n.as_u64() {
        return u.to_string();
    }
    let f = n.as_f64().unwrap_or(0.0);
    if f.fract() == 0.0 && f.abs() < 9.007_199_254_740_992e15 {
        format!("{}", f as i64)
    } else {
        format!("{f:?}")
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
    fn canonical_json_is_compact_and_sorted() {
        assert_eq!(
            canonical_json(&json!({"b": [1, 2.5, null], "a": "x"})),
            r#"{"a":"x","b":[1,2.5,null]}"#
        );
    }
}
