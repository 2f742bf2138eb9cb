//! The records of experiments and their artifact directories as bytes in
//! the records and artifacts trees.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use task_store::{Record, RecordId, RecordStatus, Result, TaskId, Timestamp};

use super::{decode, encode, json_text, json_value};
use crate::error::SledError;

/// What a stored record is called in errors.
const WHAT: &str = "record";

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
        task: json_text(WHAT, &record.task)?,
        params: record
            .params
            .iter()
            .map(|(k, v)| Ok((k.clone(), json_text(WHAT, v)?)))
            .collect::<Result<_>>()?,
        metrics: record.metrics.clone(),
        tags: record.tags.clone(),
        status: status_code(record.status),
        created_at: record.created_at.as_millis(),
        updated_at: record.updated_at.as_millis(),
        finished_at: record.finished_at.map(Timestamp::as_millis),
    };
    encode(WHAT, &stored)
}

/// The record of experiment `experiment` stored as `bytes`.
pub(crate) fn decode_record(experiment: &str, bytes: &[u8]) -> Result<Record> {
    let r: RecordV1 = decode(WHAT, bytes)?;
    Ok(Record {
        id: RecordId::from_bytes(r.id),
        experiment: experiment.to_string(),
        pool: r.pool,
        task_id: r.task_id.map(TaskId::from_bytes),
        task: json_value(WHAT, &r.task)?,
        params: r
            .params
            .into_iter()
            .map(|(k, v)| Ok((k, json_value(WHAT, &v)?)))
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

#[cfg(test)]
mod tests {
    use serde_json::json;
    use task_store::{ErrorKind, NewRecord};

    use super::*;
    use crate::codec::FORMAT_VERSION;

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
