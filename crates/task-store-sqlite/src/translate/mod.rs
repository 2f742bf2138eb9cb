//! Compiling a [`Query`] into a SQL boolean expression over the `tasks` table
//! that selects exactly the tasks [`Query::matches`] accepts.
//!
//! Values inside `filter` are read with `json_type(filter, PATH)` (the JSON
//! kind, or `'missing'`) and `json_extract(filter, PATH)` (the SQL value).
//! Every operand and path is a bound parameter. Each leaf yields 0 or 1,
//! never NULL, so `NOT` is exact. The rules of `task_store::query` map to SQL
//! as follows:
//!
//! - kinds never compare across: every comparison first tests the JSON kind,
//!   so `true` (which `json_extract` returns as the integer 1) is not a number
//!   and `"5"` is not 5;
//! - `null` matches a missing field; arrays and objects equal no scalar;
//! - strings compare under SQLite's BINARY collation (UTF-8 bytes);
//! - numbers compare exactly across integers and floats, as SQLite itself
//!   compares INTEGER with REAL. The one gap is a stored integer beyond
//!   `i64` (a `u64`), which `json_extract` rounds to a REAL: against an
//!   integer operand the rounding cannot change the answer, and against a
//!   float operand it can only when the two are equal as REALs, in which
//!   case the integer's JSON text (`filter -> PATH`) is compared with the
//!   float's exact digits.

use rusqlite::types::Value as SqlValue;
use task_store::query::{Field, Op, Query, Scalar};

/// A compiled query: SQL text with numbered parameters and their values.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SqlQuery {
    /// A boolean SQL expression.
    pub(crate) sql: String,
    /// The values of parameters `?first`, `?first+1`, … in order.
    pub(crate) params: Vec<SqlValue>,
}

/// Compile `query`, numbering its parameters from `first` (so that the
/// caller's own parameters come before, and the same text can appear twice
/// in one statement).
pub(crate) fn compile(query: &Query, first: usize) -> SqlQuery {
    let mut compiler = Compiler {
        first,
        params: Vec::new(),
    };
    let sql = compiler.query(query);
    SqlQuery {
        sql,
        params: compiler.params,
    }
}

/// JSON kinds as `json_type` names them.
const NUMBER: &[&str] = &["integer", "real"];
const TEXT: &[&str] = &["text"];
const NULL_OR_MISSING: &[&str] = &["null", "missing"];
const MISSING: &[&str] = &["missing"];

const TRUE: &str = "1";
const FALSE: &str = "0";

struct Compiler {
    first: usize,
    params: Vec<SqlValue>,
}

/// What a condition looks at.
enum Subject {
    /// A column of a fixed JSON kind.
    Column {
        column: &'static str,
        kind: &'static str,
    },
    /// A value inside `filter`; its JSON path is bound as a parameter on
    /// first use (an unused parameter would be an error).
    Json {
        segments: Vec<String>,
        param: Option<String>,
    },
}

impl Compiler {
    fn bind(&mut self, value: SqlValue) -> String {
        self.params.push(value);
        format!("?{}", self.first + self.params.len() - 1)
    }

    fn query(&mut self, query: &Query) -> String {
        match query {
            Query::All => TRUE.into(),
            Query::And(qs) => self.join(qs, " AND ", TRUE),
            Query::Or(qs) => self.join(qs, " OR ", FALSE),
            Query::Cond(field, op) => {
                let mut subject = Subject::new(field);
                self.op(&mut subject, op)
            }
        }
    }

    fn join(&mut self, qs: &[Query], sep: &str, empty: &str) -> String {
        if qs.is_empty() {
            return empty.into();
        }
        let parts: Vec<String> = qs.iter().map(|q| format!("({})", self.query(q))).collect();
        parts.join(sep)
    }

    fn op(&mut self, subject: &mut Subject, op: &Op) -> String {
        match op {
            Op::Eq(s) => self.equals(subject, s),
            Op::Ne(s) => format!("NOT ({})", self.equals(subject, s)),
            Op::In(list) => self.any_equals(subject, list),
            Op::Nin(list) => format!("NOT ({})", self.any_equals(subject, list)),
            Op::Gt(s) => self.compare(subject, ">", s),
            Op::Gte(s) => self.compare(subject, ">=", s),
            Op::Lt(s) => self.compare(subject, "<", s),
            Op::Lte(s) => self.compare(subject, "<=", s),
            Op::Exists(true) => format!("NOT ({})", self.kind_in(subject, MISSING)),
            Op::Exists(false) => self.kind_in(subject, MISSING),
        }
    }

    fn any_equals(&mut self, subject: &mut Subject, list: &[Scalar]) -> String {
        if list.is_empty() {
            return FALSE.into();
        }
        let parts: Vec<String> = list
            .iter()
            .map(|s| format!("({})", self.equals(subject, s)))
            .collect();
        parts.join(" OR ")
    }

    fn equals(&mut self, subject: &mut Subject, s: &Scalar) -> String {
        match s {
            Scalar::Null => self.kind_in(subject, NULL_OR_MISSING),
            Scalar::Bool(b) => self.kind_in(subject, if *b { &["true"] } else { &["false"] }),
            Scalar::Int(_) | Scalar::Float(_) | Scalar::String(_) => self.compare(subject, "=", s),
        }
    }

    /// `value <op> s` when the value is of the operand's kind, else false.
    fn compare(&mut self, subject: &mut Subject, op: &str, s: &Scalar) -> String {
        let kinds = match s {
            Scalar::Null | Scalar::Bool(_) => return FALSE.into(),
            Scalar::Float(f) if f.is_nan() => return FALSE.into(),
            Scalar::String(_) => TEXT,
            Scalar::Int(_) | Scalar::Float(_) => NUMBER,
        };
        let kind = self.kind_in(subject, kinds);
        if kind == FALSE {
            return kind;
        }
        let value = self.value(subject);
        let test = match s {
            Scalar::String(text) => {
                format!("{value} {op} {}", self.bind(SqlValue::Text(text.clone())))
            }
            Scalar::Int(i) => format!("{value} {op} {}", self.bind(SqlValue::Integer(*i))),
            Scalar::Float(f) => {
                let operand = self.bind(SqlValue::Real(*f));
                let native = format!("{value} {op} {operand}");
                match (&mut *subject, big_integer_text(*f)) {
                    (Subject::Json { segments, param }, Some(digits)) => {
                        let path = self.path(segments, param);
                        let digits = self.bind(SqlValue::Text(digits));
                        let text = format!("(filter -> {path})");
                        format!(
                            "CASE WHEN typeof({value}) = 'real' \
                             AND json_type(filter, {path}) = 'integer' AND {value} = {operand} \
                             THEN CASE WHEN length({text}) = length({digits}) \
                             THEN {text} {op} {digits} ELSE length({text}) {op} length({digits}) END \
                             ELSE {native} END"
                        )
                    }
                    _ => native,
                }
            }
            Scalar::Null | Scalar::Bool(_) => return FALSE.into(),
        };
        if kind == TRUE {
            test
        } else {
            format!("{kind} AND {test}")
        }
    }
}

impl Subject {
    fn new(field: &Field) -> Subject {
        let column = |column, kind| Subject::Column { column, kind };
        match field {
            Field::Id => column("id", "text"),
            Field::Status => column("status", "text"),
            Field::Priority => column("priority", "integer"),
            Field::Attempts => column("attempts", "integer"),
            Field::Filter(segments) => Subject::Json {
                segments: segments.clone(),
                param: None,
            },
        }
    }
}

impl Compiler {
    /// The parameter holding a JSON subject's path, bound on first use.
    fn path(&mut self, segments: &[String], param: &mut Option<String>) -> String {
        param
            .get_or_insert_with(|| self.bind(SqlValue::Text(json_path(segments))))
            .clone()
    }

    /// SQL that is 1 when the value's JSON kind is one of `kinds`.
    fn kind_in(&mut self, subject: &mut Subject, kinds: &[&str]) -> String {
        match subject {
            Subject::Column { kind, .. } => if kinds.contains(kind) { TRUE } else { FALSE }.into(),
            Subject::Json { segments, param } => {
                let path = self.path(segments, param);
                let names: Vec<String> = kinds.iter().map(|k| format!("'{k}'")).collect();
                format!(
                    "coalesce(json_type(filter, {path}), 'missing') IN ({})",
                    names.join(", ")
                )
            }
        }
    }

    /// The SQL value.
    fn value(&mut self, subject: &mut Subject) -> String {
        match subject {
            Subject::Column { column, .. } => (*column).into(),
            Subject::Json { segments, param } => {
                format!("json_extract(filter, {})", self.path(segments, param))
            }
        }
    }
}

/// The decimal digits of `f` if it is an integer in `[2^63, 2^64]`: the only
/// floats that can equal the rounded REAL of a stored integer beyond `i64`.
fn big_integer_text(f: f64) -> Option<String> {
    const TWO_63: f64 = 9_223_372_036_854_775_808.0;
    const TWO_64: f64 = 18_446_744_073_709_551_616.0;
    ((TWO_63..=TWO_64).contains(&f) && f.fract() == 0.0).then(|| format!("{}", f as u128))
}

/// The SQLite JSON path of `filter.<segments>`: every segment is a quoted
/// label with `"`, `\` and control characters escaped as in JSON.
pub(crate) fn json_path(segments: &[String]) -> String {
    let mut path = String::from("$");
    for segment in segments {
        path.push_str(".\"");
        for c in segment.chars() {
            match c {
                '"' => path.push_str("\\\""),
                '\\' => path.push_str("\\\\"),
                c if c.is_control() => path.push_str(&format!("\\u{:04x}", c as u32)),
                c => path.push(c),
            }
        }
        path.push('"');
    }
    path
}

#[cfg(test)]
mod tests;
