//! JSON → [`Query`], rejecting what cannot be answered identically everywhere.

use serde_json::{Map, Value};

use super::{Field, Op, Query, Scalar};
use crate::error::{Error, Result};
use crate::id::TaskId;
use crate::task::Status;

const OPERATORS: &str = "$eq $ne $in $nin $gt $gte $lt $lte $exists";

impl Query {
    /// Parse a query from its JSON text.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidQuery`](crate::ErrorKind::InvalidQuery) for malformed
    /// JSON or any construct outside the documented subset.
    pub fn parse_str(text: &str) -> Result<Query> {
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Ok(Query::All);
        }
        let value: Value = serde_json::from_str(trimmed)
            .map_err(|e| Error::invalid_query(format!("query is not valid JSON: {e}")))?;
        Query::parse(&value)
    }

    /// Parse a query from a JSON value (an object).
    ///
    /// # Errors
    /// [`ErrorKind::InvalidQuery`](crate::ErrorKind::InvalidQuery) naming the offending key.
    pub fn parse(value: &Value) -> Result<Query> {
        match value {
            Value::Object(map) => parse_document(map),
            other => Err(Error::invalid_query(format!(
                "a query must be a JSON object, got {}",
                kind_name(other)
            ))),
        }
    }
}

fn parse_document(map: &Map<String, Value>) -> Result<Query> {
    let mut parts = Vec::with_capacity(map.len());
    for (key, value) in map {
        match key.as_str() {
            "$and" | "$or" => {
                let items = value.as_array().filter(|a| !a.is_empty()).ok_or_else(|| {
                    Error::invalid_query(format!("{key} takes a non-empty array of queries"))
                })?;
                let subs = items.iter().map(Query::parse).collect::<Result<Vec<_>>>()?;
                parts.push(if key == "$and" {
                    Query::And(subs)
                } else {
                    Query::Or(subs)
                });
            }
            k if k.starts_with('$') => {
                return Err(Error::invalid_query(format!(
                    "unsupported top-level operator {k} (supported: $and, $or)"
                )));
            }
            path => {
                let field = parse_field(path)?;
                parse_conditions(&field, value, &mut parts)?;
            }
        }
    }
    Ok(match parts.len() {
        0 => Query::All,
        1 => parts.pop().expect("one part"),
        _ => Query::And(parts),
    })
}

fn parse_field(path: &str) -> Result<Field> {
    match path {
        "_id" => return Ok(Field::Id),
        "status" => return Ok(Field::Status),
        "priority" => return Ok(Field::Priority),
        "attempts" => return Ok(Field::Attempts),
        _ => {}
    }
    let Some(rest) = path.strip_prefix("filter.") else {
        let hint = if path == "filter" || path == "def" {
            "query inside the definition with a dotted path such as filter.model.class".to_string()
        } else if let Some(inner) = path.strip_prefix("def.") {
            format!(
                "a task's definition is queried through its filter (a copy of the definition \
                 unless the task set its own): use filter.{inner}"
            )
        } else if path == "res" || path.starts_with("res.") {
            "results are not queryable; query the definition with filter.<path> and read results \
             with --fields res.<path>"
                .to_string()
        } else {
            format!("definition fields are queried as filter.{path}")
        };
        return Err(Error::invalid_query(format!(
            "unknown field {path:?}: queryable fields are _id, status, priority, attempts and filter.<path>; {hint}"
        )));
    };
    let segments: Vec<String> = rest.split('.').map(str::to_owned).collect();
    for seg in &segments {
        if seg.is_empty() {
            return Err(Error::invalid_query(format!(
                "field {path:?} has an empty path segment"
            )));
        }
        if seg.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Error::invalid_query(format!(
                "field {path:?}: array indexes ({seg}) are not supported"
            )));
        }
        if seg.starts_with('$') {
            return Err(Error::invalid_query(format!(
                "field {path:?}: a path segment may not start with '$'"
            )));
        }
    }
    Ok(Field::Filter(segments))
}

fn parse_conditions(field: &Field, value: &Value, out: &mut Vec<Query>) -> Result<()> {
    let path = field.path();
    match value {
        Value::Object(ops) if ops.keys().any(|k| k.starts_with('$')) => {
            if let Some(k) = ops.keys().find(|k| !k.starts_with('$')) {
                return Err(Error::invalid_query(format!(
                    "field {path:?} mixes operators with the plain key {k:?}"
                )));
            }
            for (name, operand) in ops {
                out.push(Query::Cond(field.clone(), parse_op(field, name, operand)?));
            }
            Ok(())
        }
        Value::Object(_) => Err(Error::invalid_query(format!(
            "field {path:?}: comparing whole documents is not supported; query nested fields with dotted paths"
        ))),
        other => {
            out.push(Query::Cond(
                field.clone(),
                Op::Eq(scalar(field, "$eq", other)?),
            ));
            Ok(())
        }
    }
}

fn parse_op(field: &Field, name: &str, operand: &Value) -> Result<Op> {
    let path = field.path();
    let list = |operand: &Value| -> Result<Vec<Scalar>> {
        operand
            .as_array()
            .ok_or_else(|| Error::invalid_query(format!("{name} on {path:?} takes an array")))?
            .iter()
            .map(|v| scalar(field, name, v))
            .collect()
    };
    let ordered = |operand: &Value| -> Result<Scalar> {
        let s = scalar(field, name, operand)?;
        match s {
            Scalar::Int(_) | Scalar::Float(_) | Scalar::String(_) => Ok(s),
            _ => Err(Error::invalid_query(format!(
                "{name} on {path:?} takes a number or a string, got {}",
                kind_name(operand)
            ))),
        }
    };
    let op = match name {
        "$eq" => Op::Eq(scalar(field, name, operand)?),
        "$ne" => Op::Ne(scalar(field, name, operand)?),
        "$in" => Op::In(list(operand)?),
        "$nin" => Op::Nin(list(operand)?),
        "$gt" => Op::Gt(ordered(operand)?),
        "$gte" => Op::Gte(ordered(operand)?),
        "$lt" => Op::Lt(ordered(operand)?),
        "$lte" => Op::Lte(ordered(operand)?),
        "$exists" => match operand {
            Value::Bool(b) => Op::Exists(*b),
            other => {
                return Err(Error::invalid_query(format!(
                    "$exists on {path:?} takes true or false, got {}",
                    kind_name(other)
                )));
            }
        },
        other => {
            return Err(Error::invalid_query(format!(
                "unsupported operator {other} on {path:?} (supported: {OPERATORS})"
            )));
        }
    };
    if *field == Field::Status && !matches!(op, Op::Eq(_) | Op::Ne(_) | Op::In(_) | Op::Nin(_)) {
        return Err(Error::invalid_query(format!(
            "{name} is not supported on \"status\" (use $eq, $ne, $in or $nin)"
        )));
    }
    Ok(op)
}

/// Convert an operand, checking it fits the field.
fn scalar(field: &Field, op: &str, value: &Value) -> Result<Scalar> {
    let path = field.path();
    let s = match value {
        Value::Null => Scalar::Null,
        Value::Bool(b) => Scalar::Bool(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => Scalar::Int(i),
            None => Scalar::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Value::String(s) => Scalar::String(s.clone()),
        Value::Array(_) | Value::Object(_) => {
            return Err(Error::invalid_query(format!(
                "{op} on {path:?}: operands must be null, booleans, numbers or strings, got {}",
                kind_name(value)
            )));
        }
    };
    match (field, &s) {
        (Field::Filter(_), _) => Ok(s),
        (Field::Id, Scalar::String(text)) => {
            let id: TaskId = text.parse().map_err(|_| {
                Error::invalid_query(format!(
                    "{op} on \"_id\": {text:?} is not a task id (24 hexadecimal digits)"
                ))
            })?;
            Ok(Scalar::String(id.to_string()))
        }
        (Field::Status, Scalar::String(text)) => {
            let status: Status = text
                .parse()
                .map_err(|e: Error| Error::invalid_query(e.message().to_string()))?;
            Ok(Scalar::String(status.as_str().into()))
        }
        (Field::Priority | Field::Attempts, Scalar::Int(_) | Scalar::Float(_)) => Ok(s),
        (Field::Id | Field::Status, _) => Err(Error::invalid_query(format!(
            "{op} on {path:?} takes a string, got {}",
            kind_name(value)
        ))),
        (Field::Priority | Field::Attempts, _) => Err(Error::invalid_query(format!(
            "{op} on {path:?} takes a number, got {}",
            kind_name(value)
        ))),
    }
}

fn kind_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;
    use serde_json::json;

    fn err(v: Value) -> String {
        let e = Query::parse(&v).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidQuery);
        e.message().to_string()
    }

    #[test]
    fn parses_the_documented_example() {
        let q = Query::parse(&json!({
            "filter.model.class": "LGB",
            "status": {"$in": ["waiting", "running"]},
        }))
        .unwrap();
        assert!(matches!(q, Query::And(ref parts) if parts.len() == 2));
        assert!(q.mentions_status());
    }

    #[test]
    fn rejections_name_the_offending_key() {
        assert!(err(json!({"model.class": 1})).contains("filter.model.class"));
        assert!(err(json!({"filter.x": {"$regex": "a"}})).contains("$regex"));
        assert!(err(json!({"status": "bogus"})).contains("bogus"));
        assert!(err(json!({"_id": "nope"})).contains("nope"));
        assert!(err(json!({"filter.a.0": 1})).contains("array indexes"));
        assert!(err(json!({"filter.a": [1]})).contains("filter.a"));
        assert!(err(json!({"filter.a": {"b": 1}})).contains("whole documents"));
        assert!(err(json!({"filter.a": {"$gt": true}})).contains("$gt"));
        assert!(err(json!({"$nor": []})).contains("$nor"));
        assert!(err(json!({"$or": []})).contains("$or"));
        assert!(err(json!({"priority": "high"})).contains("priority"));
        assert!(err(json!({"status": {"$gt": "done"}})).contains("status"));
        assert!(err(json!([1])).contains("object"));
    }

    #[test]
    fn hints_name_a_path_that_works() {
        let def = err(json!({"def.x": 1}));
        assert!(def.contains("use filter.x"), "{def}");
        assert!(!def.contains("filter.def.x"), "{def}");
        assert!(Query::parse(&json!({"filter.x": 1})).is_ok());
        assert!(err(json!({"res.ic": 1})).contains("not queryable"));
    }

    #[test]
    fn empty_text_and_object_match_all() {
        assert_eq!(Query::parse_str("").unwrap(), Query::All);
        assert_eq!(Query::parse_str("{}").unwrap(), Query::All);
        assert_eq!(
            Query::parse_str("{").unwrap_err().kind(),
            ErrorKind::InvalidQuery
        );
    }
}
