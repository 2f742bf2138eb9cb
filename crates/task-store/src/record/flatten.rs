//! Flattening a task definition into record parameters.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

/// The parameters of a definition: every non-object value (or empty object)
/// under its dotted path, e.g. `{"model": {"kwargs": {"alpha": 0.1}}}` →
/// `{"model.kwargs.alpha": 0.1}`. Arrays are values, not descended into.
/// A definition that is not an object has no parameters.
pub fn flatten_params(def: &Value) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    if let Value::Object(map) = def {
        flatten_into(&mut out, "", map);
    }
    out
}

fn flatten_into(out: &mut BTreeMap<String, Value>, prefix: &str, map: &Map<String, Value>) {
    for (k, v) in map {
        let path = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match v {
            Value::Object(inner) if !inner.is_empty() => flatten_into(out, &path, inner),
            _ => {
                out.insert(path, v.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn flatten_params_joins_object_paths() {
        let def = json!({
            "model": {"class": "LGBModel", "kwargs": {"alpha": 0.1, "layers": [1, 2]}},
            "segments": {"test": ["2017-01-03", null]},
            "empty": {},
            "n": 3
        });
        let got = flatten_params(&def);
        let want: BTreeMap<String, Value> = [
            ("empty", json!({})),
            ("model.class", json!("LGBModel")),
            ("model.kwargs.alpha", json!(0.1)),
            ("model.kwargs.layers", json!([1, 2])),
            ("n", json!(3)),
            ("segments.test", json!(["2017-01-03", null])),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn flatten_params_of_non_object_is_empty() {
        assert!(flatten_params(&json!([1, 2])).is_empty());
        assert!(flatten_params(&Value::Null).is_empty());
    }
}
