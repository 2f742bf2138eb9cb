//! Reading a Qlib task pool, to move it to taskpool (`taskpool import-qlib`).
//!
//! Qlib's `TaskManager` keeps one collection per pool, each document shaped
//! `{_id: ObjectId, def: Binary(pickle), filter: <the task as plain BSON>,
//! status: "waiting"|"running"|"done"|"part_done", priority?: int,
//! res?: Binary(pickle)}`. Pickles can run arbitrary code when loaded, so this
//! reader never loads them: it does not even fetch `def` or `res` (the query
//! projects them away) and takes the definition from `filter`, which Qlib
//! writes as a native BSON copy of the same task.
//!
//! `filter` is converted to JSON exactly where JSON can say the same thing
//! (documents, arrays, strings, booleans, null, 32/64-bit integers, finite
//! doubles); dates (Qlib's `pd.Timestamp`s) become `"YYYY-MM-DD"` at UTC
//! midnight and RFC 3339 strings (`2017-01-03T09:30:00.000Z`) otherwise;
//! ObjectIds become their 24-hex string and Decimal128 its decimal string.
//! A document whose `filter` holds anything else (binary data, code, regular
//! expressions, NaN…), has no `filter`, or has no string `status` is not
//! guessed at: it is reported as skipped with the reason.

use futures::TryStreamExt;
use mongodb::bson::{Bson, Document, doc};
use serde_json::{Map, Number, Value};
use task_store::{Error, Result, Timestamp};

use crate::error::MongoError;
use crate::open::{Connection, connect};
use crate::options::MongoOptions;

/// One task read from a Qlib pool.
#[derive(Debug, Clone, PartialEq)]
pub struct QlibTask {
    /// The Qlib document's `_id` (24 hex digits for an ObjectId).
    pub qlib_id: String,
    /// Qlib's status as stored (`waiting`, `running`, `done`, `part_done`).
    pub status: String,
    /// The task definition, converted from `filter`.
    pub def: Value,
    /// Qlib's `priority`, if the task was prioritized.
    pub priority: Option<i64>,
}

/// A document that could not be read as a task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedDocument {
    /// The document's `_id`.
    pub qlib_id: String,
    /// Why it was skipped.
    pub reason: String,
}

/// Everything read from one Qlib pool, in `_id` (creation) order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct QlibPool {
    /// The documents converted to tasks.
    pub tasks: Vec<QlibTask>,
    /// The documents that could not be converted.
    pub skipped: Vec<SkippedDocument>,
}

/// Read the Qlib pool stored in `collection` of the database at `url`
/// (`options.database` or the URL's path, as for [`MongoStore`](crate::MongoStore)).
///
/// # Errors
/// `Config` for a bad URL or database name; `Unavailable` if no server
/// answers; `NotFound` if the database has no such collection; `Backend` for
/// other server failures. Messages never contain the URL's password.
pub async fn read_qlib_pool(
    url: &str,
    collection: &str,
    options: MongoOptions,
) -> Result<QlibPool> {
    if collection.is_empty() {
        return Err(Error::config("the Qlib pool (collection) name is empty"));
    }
    let conn = connect(url, options).await?;
    let read = read_from(&conn, collection).await;
    // Ends the client's server sessions now, not in the driver's background
    // task, which the caller's runtime may stop midway (see `store::close`).
    conn.client.shutdown().await;
    read
}

/// Read the Qlib pool in `collection` through `conn`.
async fn read_from(conn: &Connection, collection: &str) -> Result<QlibPool> {
    let what = format!("reading Qlib pool {collection:?} from {}", conn.shown_url);
    let err = |e| -> Error { MongoError::driver(e, &what, &conn.secrets).into() };
    let names = conn
        .db
        .list_collection_names()
        .filter(doc! {"name": collection})
        .await
        .map_err(err)?;
    if names.is_empty() {
        return Err(Error::not_found(format!(
            "no collection {collection:?} in database {:?} of {}",
            conn.db.name(),
            conn.shown_url
        )));
    }
    let mut cursor = conn
        .db
        .collection::<Document>(collection)
        .find(doc! {})
        .projection(doc! {"filter": 1, "status": 1, "priority": 1})
        .sort(doc! {"_id": 1})
        .await
        .map_err(err)?;
    let mut pool = QlibPool::default();
    while let Some(document) = cursor.try_next().await.map_err(err)? {
        match convert_document(&document) {
            Ok(task) => pool.tasks.push(task),
            Err(skipped) => pool.skipped.push(skipped),
        }
    }
    tracing::debug!(
        collection,
        tasks = pool.tasks.len(),
        skipped = pool.skipped.len(),
        "read Qlib pool"
    );
    Ok(pool)
}

/// One Qlib document as a task (`def`, `res` and other fields are ignored).
///
/// # Errors
/// The document and the reason when it has no usable `filter` or `status`.
pub fn convert_document(document: &Document) -> Result<QlibTask, SkippedDocument> {
    let qlib_id = match document.get("_id") {
        Some(Bson::ObjectId(oid)) => oid.to_hex(),
        Some(other) => {
            bson_to_json(other, "_id").map_or_else(|_| format!("{other}"), |v| v.to_string())
        }
        None => String::new(),
    };
    let skip = |reason: String| SkippedDocument {
        qlib_id: qlib_id.clone(),
        reason,
    };
    let status = match document.get("status") {
        Some(Bson::String(s)) => s.clone(),
        _ => return Err(skip("no status string".into())),
    };
    let def = match document.get("filter") {
        Some(filter @ Bson::Document(_)) => bson_to_json(filter, "filter").map_err(skip)?,
        Some(_) => return Err(skip("filter is not a document".into())),
        None => {
            return Err(skip(
                "no filter (only the pickled def, which is never loaded)".into(),
            ));
        }
    };
    let priority = match document.get("priority") {
        None | Some(Bson::Null) => None,
        Some(Bson::Int32(p)) => Some(i64::from(*p)),
        Some(Bson::Int64(p)) => Some(*p),
        Some(Bson::Double(p)) if p.fract() == 0.0 && p.abs() < 9.0e15 => Some(*p as i64),
        Some(other) => return Err(skip(format!("priority {other} is not an integer"))),
    };
    Ok(QlibTask {
        qlib_id,
        status,
        def,
        priority,
    })
}

/// Convert a BSON value to JSON where the meaning is kept (see the module
/// docs); `path` names the value in the error.
///
/// # Errors
/// A message naming the path and the BSON type that JSON cannot hold.
pub fn bson_to_json(value: &Bson, path: &str) -> Result<Value, String> {
    Ok(match value {
        Bson::Null => Value::Null,
        Bson::Boolean(b) => Value::Bool(*b),
        Bson::Int32(i) => Value::from(*i),
        Bson::Int64(i) => Value::from(*i),
        Bson::Double(f) => Number::from_f64(*f)
            .map(Value::Number)
            .ok_or_else(|| format!("{path} is {f}, which JSON cannot hold"))?,
        Bson::String(s) => Value::String(s.clone()),
        Bson::ObjectId(oid) => Value::String(oid.to_hex()),
        Bson::Decimal128(d) => Value::String(d.to_string()),
        Bson::DateTime(dt) => Value::String(date_text(dt.timestamp_millis())),
        Bson::Array(items) => Value::Array(
            items
                .iter()
                .enumerate()
                .map(|(i, item)| bson_to_json(item, &format!("{path}.{i}")))
                .collect::<Result<_, _>>()?,
        ),
        Bson::Document(doc) => Value::Object(
            doc.iter()
                .map(|(k, v)| Ok((k.clone(), bson_to_json(v, &format!("{path}.{k}"))?)))
                .collect::<Result<Map<_, _>, String>>()?,
        ),
        Bson::Binary(_) => {
            return Err(format!(
                "{path} holds binary data (a pickle?), which is never loaded"
            ));
        }
        other => {
            return Err(format!(
                "{path} holds a BSON {:?} value, which has no JSON equivalent",
                other.element_type()
            ));
        }
    })
}

/// `YYYY-MM-DD` for a UTC midnight, else RFC 3339 with milliseconds.
fn date_text(millis: i64) -> String {
    let text = Timestamp::from_millis(millis).to_string();
    if millis.rem_euclid(86_400_000) == 0 {
        text.chars().take(10).collect()
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use mongodb::bson::oid::ObjectId;
    use mongodb::bson::spec::BinarySubtype;
    use mongodb::bson::{Binary, DateTime};
    use serde_json::json;

    use super::*;

    fn pickle() -> Bson {
        Bson::Binary(Binary {
            subtype: BinarySubtype::Generic,
            bytes: b"\x80\x04\x95 pickle bytes never loaded".to_vec(),
        })
    }

    #[test]
    fn convert_document_takes_the_definition_from_filter() {
        let oid = ObjectId::parse_str("615498be837d0053acbc5d58").unwrap();
        let document = doc! {
            "_id": oid,
            "def": pickle(),
            "filter": {
                "model": {"class": "LGBModel", "kwargs": {"lr": 0.05, "leaves": 210_i32, "n": 5_i64}},
                "dataset": {"segments": {
                    "train": [DateTime::from_millis(1_199_145_600_000), DateTime::from_millis(1_419_984_000_000)],
                    "test": [DateTime::from_millis(1_483_435_800_000), Bson::Null],
                }},
                "flag": true,
                "ref": oid,
            },
            "status": "done",
            "priority": 3_i32,
            "res": pickle(),
        };
        let task = convert_document(&document).unwrap();
        assert_eq!(task.qlib_id, "615498be837d0053acbc5d58");
        assert_eq!(task.status, "done");
        assert_eq!(task.priority, Some(3));
        assert_eq!(
            task.def,
            json!({
                "model": {"class": "LGBModel", "kwargs": {"lr": 0.05, "leaves": 210, "n": 5}},
                "dataset": {"segments": {
                    "train": ["2008-01-01", "2014-12-31"],
                    "test": ["2017-01-03T09:30:00.000Z", null],
                }},
                "flag": true,
                "ref": "615498be837d0053acbc5d58",
            })
        );
    }

    #[test]
    fn convert_document_skips_what_it_cannot_read() {
        let cases = [
            doc! {"_id": 1_i32, "def": pickle(), "status": "waiting"},
            doc! {"_id": 2_i32, "filter": {"a": 1_i32}},
            doc! {"_id": 3_i32, "filter": "text", "status": "waiting"},
            doc! {"_id": 4_i32, "filter": {"blob": pickle()}, "status": "waiting"},
            doc! {"_id": 5_i32, "filter": {"x": f64::NAN}, "status": "waiting"},
            doc! {"_id": 6_i32, "filter": {"a": 1_i32}, "status": "waiting", "priority": "high"},
        ];
        for document in cases {
            let skipped = convert_document(&document).unwrap_err();
            assert_eq!(skipped.qlib_id, document.get("_id").unwrap().to_string());
        }
    }

    #[test]
    fn bson_to_json_names_the_path_of_unsupported_values() {
        let value =
            Bson::Document(doc! {"a": [1_i32, {"code": Bson::JavaScriptCode("f()".into())}]});
        let message = bson_to_json(&value, "filter").unwrap_err();
        assert!(message.starts_with("filter.a.1.code "), "{message}");
    }

    #[test]
    fn date_text_is_a_date_at_utc_midnight() {
        assert_eq!(date_text(0), "1970-01-01");
        assert_eq!(date_text(1_000), "1970-01-01T00:00:01.000Z");
        assert_eq!(date_text(-86_400_000), "1969-12-31");
    }
}
