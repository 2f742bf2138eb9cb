//! The stored forms of records and artifact directories.
//!
//! Like task records (see [`crate::record`]), each value is one
//! format-version byte followed by a postcard encoding of a version-specific
//! struct, JSON values as JSON text inside it and metrics as the bits of
//! their `f64` (so they round-trip bit for bit). A value of an unknown
//! version is a [`Config`](task_store::ErrorKind::Config) error.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use task_store::{Record, RecordId, RecordStatus, Result, TaskId, Timestamp};

use crate::error::SledError;

/// The format version of records and artifact directories this build writes
/// and reads.
pub(crate) const FORMAT_VERSION: u8 = 1;

#[derive(Serialize, Deserialize)]
struct RecordV1 {
    id: [u8; 12],
    pool: Option<String>,
    task_id: Option<[u8; 12]>,
    task: String,
    params: BTreeMap<String, String>,
    metrics: BTreeMap<String, f64>,
    tags: BTreeMap<String, String>,
    status: u8,
    created_at: i64,
    updated_at: i64,
    finished_at: Option<i64>,
}

/// One artifact as its record's directory describes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct StoredArtifact {
    /// Its length in bytes.
    pub(crate) len: u64,
    /// How many chunks hold it (indexes `0..chunks`).
    pub(crate) chunks: u32,
}

/// The artifacts of one record, by name.
pub(crate) type Directory = BTreeMap<String, StoredArtifact>;

/// The bytes of a record (its experiment is in its key).
pub(crate) fn encode_record(record: &Record) -> Result<Vec<u8>> {
    let stored = RecordV1 {
        id: record.id.bytes(),
        pool: record.pool.clone(),
        task_id: record.task_id.map(|id| id.bytes()),
        task: json_text(&record.task)?,
        params: record
            .params
            .iter()
            .map(|(k, v)| Ok((k.clone(), json_text(v)?)))
            .collect::<Result<_>>()?,
        metrics: record.metrics.clone(),
        tags: record.tags.clone(),
        status: status_code(record.status),
        created_at: record.created_at.as_millis(),
        updated_at: record.updated_at.as_millis(),
        finished_at: record.finished_at.map(Timestamp::as_millis),
    };
    encode("record", &stored)
}

/// The record of experiment `experiment` stored as `bytes`.
pub(crate) fn decode_record(experiment: &str, bytes: &[u8]) -> Result<Record> {
    let r: RecordV1 = decode("record", bytes)?;
    Ok(Record {
        id: RecordId::from_bytes(r.id),
        experiment: experiment.to_string(),
        pool: r.pool,
        task_id: r.task_id.map(TaskId::from_bytes),
        task: json_value(&r.task)?,
        params: r
            .params
            .into_iter()
            .map(|(k, v)| Ok((k, json_value(&v)?)))
            .collect::<Result<_>>()?,
        metrics: r.metrics,
        tags: r.tags,
        status: status_from_code(r.status)
            .ok_or_else(|| SledError::Corrupt(format!("unknown record status {}", r.status)))?,
        created_at: Timestamp::from_millis(r.created_at),
        updated_at: Timestamp::from_millis(r.updated_at),
        finished_at: r.finished_at.map(Timestamp::from_millis),
    })
}

/// The bytes of an artifact directory.
pub(crate) fn encode_directory(directory: &Directory) -> Result<Vec<u8>> {
    encode("artifact directory", directory)
}

/// The artifact directory stored as `bytes`.
pub(crate) fn decode_directory(bytes: &[u8]) -> Result<Directory> {
    decode("artifact directory", bytes)
}

/// The one-byte code of a record status (stable on disk).
fn status_code(status: RecordStatus) -> u8 {
    match status {
        RecordStatus::Running => 0,
        RecordStatus::Finished => 1,
        RecordStatus::Failed => 2,
    }
}

fn status_from_code(code: u8) -> Option<RecordStatus> {
    RecordStatus::ALL
        .into_iter()
        .find(|s| status_code(*s) == code)
}

fn encode<T: Serialize>(what: &'static str, value: &T) -> Result<Vec<u8>> {
    Ok(
        postcard::to_extend(value, vec![FORMAT_VERSION]).map_err(|e| SledError::EncodeEntry {
            what,
            message: e.to_string(),
        })?,
    )
}

fn decode<T: DeserializeOwned>(what: &'static str, bytes: &[u8]) -> Result<T> {
    let (&version, body) = bytes
        .split_first()
        .ok_or_else(|| SledError::Corrupt(format!("empty {what}")))?;
    if version != FORMAT_VERSION {
        return Err(SledError::UnknownEntryVersion {
            what,
            found: version,
            expected: FORMAT_VERSION,
        }
        .into());
    }
    Ok(postcard::from_bytes(body).map_err(|e| SledError::Corrupt(format!("{what}: {e}")))?)
}

fn json_text(value: &Value) -> Result<String> {
    Ok(
        serde_json::to_string(value).map_err(|e| SledError::EncodeEntry {
            what: "record",
            message: e.to_string(),
        })?,
    )
}

fn json_value(text: &str) -> Result<Value> {
    Ok(serde_json::from_str(text)
        .map_err(|e| SledError::Corrupt(format!("JSON in a record: {e}")))?)
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use task_store::{ErrorKind, NewRecord};

    use super::*;

    fn sample() -> Record {
        let task = json!({"model": {"lr": 0.1, "n": [1, -2, 3.5e300]}, "s": "é"});
        NewRecord {
            pool: Some("p".into()),
            task_id: Some(TaskId::from_bytes([4; 12])),
            params: task_store::record::flatten_params(&task),
            task,
            metrics: BTreeMap::from([("ic".into(), 0.1 + 0.2), ("tiny".into(), -5e-324)]),
            tags: BTreeMap::from([("a.b".into(), "".into()), ("$x".into(), "y".into())]),
            status: RecordStatus::Failed,
            ..NewRecord::default()
        }
        .into_record("exp", Timestamp::from_millis(1_767_225_600_123))
        .unwrap()
    }

    #[test]
    fn records_round_trip_bit_for_bit() {
        let record = sample();
        let back = decode_record("exp", &encode_record(&record).unwrap()).unwrap();
        assert_eq!(back, record);
        assert_eq!(back.metrics["tiny"].to_bits(), (-5e-324f64).to_bits());
    }

    #[test]
    fn directories_round_trip() {
        let dir = Directory::from([
            ("a".into(), StoredArtifact { len: 0, chunks: 0 }),
            (
                "b/c".into(),
                StoredArtifact {
                    len: 1 << 33,
                    chunks: 8192,
                },
            ),
        ]);
        assert_eq!(
            decode_directory(&encode_directory(&dir).unwrap()).unwrap(),
            dir
        );
    }

    #[test]
    fn decode_rejects_unknown_version_and_truncation() {
        let mut bytes = encode_record(&sample()).unwrap();
        assert_eq!(
            decode_record("exp", &bytes[..bytes.len() / 2])
                .unwrap_err()
                .kind(),
            ErrorKind::Backend
        );
        bytes[0] = FORMAT_VERSION + 1;
        assert_eq!(
            decode_record("exp", &bytes).unwrap_err().kind(),
            ErrorKind::Config
        );
        assert_eq!(
            decode_directory(&[]).unwrap_err().kind(),
            ErrorKind::Backend
        );
    }
}
