//! A [`Task`] as bytes in the tasks tree.

use serde::{Deserialize, Serialize};
use task_store::{ErrorEntry, Lease, Result, Status, Task, TaskId, Timestamp};

use super::{decode, encode, json_text, json_value};
use crate::error::SledError;
use crate::layout::{status_code, status_from_code};

/// What a stored task is called in errors.
const WHAT: &str = "task";

#[derive(Serialize, Deserialize)]
struct TaskV1 {
    id: [u8; 12],
    def: String,
    filter: String,
    key: String,
    status: u8,
    priority: i64,
    res: Option<String>,
    attempts: u32,
    max_attempts: u32,
    lease: Option<LeaseV1>,
    errors: Vec<ErrorV1>,
    created_at: i64,
    updated_at: i64,
    started_at: Option<i64>,
    finished_at: Option<i64>,
}

#[derive(Serialize, Deserialize)]
struct LeaseV1 {
    owner: String,
    token: String,
    expires_at: i64,
    from_status: u8,
}

#[derive(Serialize, Deserialize)]
struct ErrorV1 {
    attempt: u32,
    at: i64,
    owner: String,
    message: String,
}

/// The bytes of a task in the tasks tree.
///
/// # Errors
/// [`ErrorKind::Backend`](task_store::ErrorKind::Backend) if serialization fails.
pub fn encode_task(task: &Task) -> Result<Vec<u8>> {
    let stored = TaskV1 {
        id: task.id.bytes(),
        def: json_text(WHAT, &task.def)?,
        filter: json_text(WHAT, &task.filter)?,
        key: task.key.clone(),
        status: status_code(task.status),
        priority: task.priority,
        res: task
            .res
            .as_ref()
            .map(|res| json_text(WHAT, res))
            .transpose()?,
        attempts: task.attempts,
        max_attempts: task.max_attempts,
        lease: task.lease.as_ref().map(|l| LeaseV1 {
            owner: l.owner.clone(),
            token: l.token.clone(),
            expires_at: l.expires_at.as_millis(),
            from_status: status_code(l.from_status),
        }),
        errors: task
            .errors
            .iter()
            .map(|e| ErrorV1 {
                attempt: e.attempt,
                at: e.at.as_millis(),
                owner: e.owner.clone(),
                message: e.message.clone(),
            })
            .collect(),
        created_at: task.created_at.as_millis(),
        updated_at: task.updated_at.as_millis(),
        started_at: task.started_at.map(Timestamp::as_millis),
        finished_at: task.finished_at.map(Timestamp::as_millis),
    };
    encode(WHAT, &stored)
}

/// The task stored as `bytes` in the tasks tree.
///
/// # Errors
/// [`ErrorKind::Config`](task_store::ErrorKind::Config) for an unknown format
/// version; [`ErrorKind::Backend`](task_store::ErrorKind::Backend) for bytes
/// that do not decode.
pub fn decode_task(bytes: &[u8]) -> Result<Task> {
    let r: TaskV1 = decode(WHAT, bytes)?;
    let lease = r
        .lease
        .map(|l| -> Result<Lease> {
            Ok(Lease {
                owner: l.owner,
                token: l.token,
                expires_at: Timestamp::from_millis(l.expires_at),
                from_status: status(l.from_status)?,
            })
        })
        .transpose()?;
    Ok(Task {
        id: TaskId::from_bytes(r.id),
        def: json_value(WHAT, &r.def)?,
        filter: json_value(WHAT, &r.filter)?,
        key: r.key,
        status: status(r.status)?,
        priority: r.priority,
        res: r
            .res
            .as_deref()
            .map(|res| json_value(WHAT, res))
            .transpose()?,
        attempts: r.attempts,
        max_attempts: r.max_attempts,
        lease,
        errors: r
            .errors
            .into_iter()
            .map(|e| ErrorEntry {
                attempt: e.attempt,
                at: Timestamp::from_millis(e.at),
                owner: e.owner,
                message: e.message,
            })
            .collect(),
        created_at: Timestamp::from_millis(r.created_at),
        updated_at: Timestamp::from_millis(r.updated_at),
        started_at: r.started_at.map(Timestamp::from_millis),
        finished_at: r.finished_at.map(Timestamp::from_millis),
    })
}

fn status(code: u8) -> Result<Status> {
    Ok(status_from_code(code)
        .ok_or_else(|| SledError::Corrupt(format!("unknown status code {code}")))?)
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use task_store::ErrorKind;

    use super::*;
    use crate::codec::FORMAT_VERSION;

    fn sample() -> Task {
        let t = Timestamp::from_millis(1_767_225_600_123);
        Task {
            id: TaskId::from_bytes([1; 12]),
            def: json!({"model": {"lr": 0.1, "n": [1, -2, 3.5e300]}, "s": "é"}),
            filter: json!({"f": null}),
            key: "k".repeat(64),
            status: Status::Running,
            priority: -4,
            res: Some(json!([true, 1.0])),
            attempts: 2,
            max_attempts: 3,
            lease: Some(Lease {
                owner: "w".into(),
                token: "t".into(),
                expires_at: t,
                from_status: Status::PartDone,
            }),
            errors: vec![ErrorEntry {
                attempt: 1,
                at: t,
                owner: "w".into(),
                message: "boom".into(),
            }],
            created_at: t,
            updated_at: t,
            started_at: Some(t),
            finished_at: None,
        }
    }

    #[test]
    fn tasks_round_trip() {
        let task = sample();
        assert_eq!(decode_task(&encode_task(&task).unwrap()).unwrap(), task);
    }

    #[test]
    fn decode_rejects_unknown_version() {
        let mut bytes = encode_task(&sample()).unwrap();
        bytes[0] = FORMAT_VERSION + 1;
        assert_eq!(decode_task(&bytes).unwrap_err().kind(), ErrorKind::Config);
    }

    #[test]
    fn decode_rejects_truncated_task() {
        let bytes = encode_task(&sample()).unwrap();
        assert_eq!(
            decode_task(&bytes[..bytes.len() / 2]).unwrap_err().kind(),
            ErrorKind::Backend
        );
        assert_eq!(decode_task(&[]).unwrap_err().kind(), ErrorKind::Backend);
    }
}
