//! Dotted JSON paths (`model.kwargs.loss`, `record.0.kwargs`) to read and set
//! values inside a task.

use std::fmt;
use std::str::FromStr;

use serde_json::{Map, Value};

use super::error::GenError;

/// A dotted path into a JSON document: object keys separated by `.`; a part
/// that is a number indexes an array. Keys containing `.` cannot be named.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct JsonPath {
    text: String,
    parts: Vec<String>,
}

impl JsonPath {
    /// Parse `a.b.c`.
    ///
    /// # Errors
    /// [`GenError::BadPath`] when the path or one of its parts is empty.
    pub fn parse(text: &str) -> Result<Self, GenError> {
        let bad = |reason| GenError::BadPath {
            path: text.to_owned(),
            reason,
        };
        if text.is_empty() {
            return Err(bad("the path is empty"));
        }
        let parts: Vec<String> = text.split('.').map(str::to_owned).collect();
        if parts.iter().any(String::is_empty) {
            return Err(bad("a part between dots is empty"));
        }
        Ok(JsonPath {
            text: text.to_owned(),
            parts,
        })
    }

    /// The value at this path, if present.
    pub fn get<'v>(&self, root: &'v Value) -> Option<&'v Value> {
        self.parts.iter().try_fold(root, |node, part| match node {
            Value::Object(map) => map.get(part),
            Value::Array(items) => part.parse::<usize>().ok().and_then(|i| items.get(i)),
            _ => None,
        })
    }

    /// Set the value at this path, creating missing objects on the way.
    ///
    /// # Errors
    /// [`GenError::WrongType`] when a value on the way is neither an object
    /// nor an array indexed by an existing position.
    pub fn set(&self, root: &mut Value, value: Value) -> Result<(), GenError> {
        let mut node = root;
        for (depth, part) in self.parts.iter().enumerate() {
            let last = depth + 1 == self.parts.len();
            let prefix = || self.parts[..=depth].join(".");
            let slot = match node {
                Value::Object(map) => map
                    .entry(part.clone())
                    .or_insert_with(|| Value::Object(Map::new())),
                Value::Array(items) => {
                    let len = items.len();
                    part.parse::<usize>()
                        .ok()
                        .and_then(|i| items.get_mut(i))
                        .ok_or_else(|| GenError::WrongType {
                            path: prefix(),
                            expected: if len == 0 {
                                "an index of a non-empty list"
                            } else {
                                "an index within the list"
                            },
                        })?
                }
                _ => {
                    return Err(GenError::WrongType {
                        path: self.parts[..depth].join("."),
                        expected: "an object or a list",
                    });
                }
            };
            if last {
                *slot = value;
                return Ok(());
            }
            node = slot;
        }
        Ok(())
    }
}

impl FromStr for JsonPath {
    type Err = GenError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        JsonPath::parse(s)
    }
}

impl fmt::Display for JsonPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn set_creates_missing_objects() {
        let mut task = json!({"model": {"class": "LGB"}});
        JsonPath::parse("model.kwargs.loss")
            .unwrap()
            .set(&mut task, json!("mse"))
            .unwrap();
        assert_eq!(
            task,
            json!({"model": {"class": "LGB", "kwargs": {"loss": "mse"}}})
        );
    }

    #[test]
    fn set_indexes_lists() {
        let mut task = json!({"record": [{"kwargs": {}}]});
        let path = JsonPath::parse("record.0.kwargs.n").unwrap();
        path.set(&mut task, json!(3)).unwrap();
        assert_eq!(path.get(&task), Some(&json!(3)));
    }

    #[test]
    fn set_through_scalar_fails() {
        let mut task = json!({"model": "LGB"});
        let err = JsonPath::parse("model.kwargs")
            .unwrap()
            .set(&mut task, json!(1))
            .unwrap_err();
        assert!(matches!(err, GenError::WrongType { ref path, .. } if path == "model"));
    }

    #[test]
    fn set_out_of_range_index_fails() {
        let mut task = json!({"record": []});
        let err = JsonPath::parse("record.0")
            .unwrap()
            .set(&mut task, json!(1))
            .unwrap_err();
        assert!(matches!(err, GenError::WrongType { .. }));
    }

    #[test]
    fn parse_rejects_empty_parts() {
        assert!(matches!(
            JsonPath::parse("model..loss"),
            Err(GenError::BadPath { .. })
        ));
        assert!(matches!(JsonPath::parse(""), Err(GenError::BadPath { .. })));
    }
}
