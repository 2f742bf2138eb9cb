//! How values are stored: tasks ([`encode_task`], [`decode_task`]), and the
//! records and artifact directories of experiments.
//!
//! Every stored value is one format-version byte ([`FORMAT_VERSION`])
//! followed by the postcard encoding of a version-specific struct. Postcard
//! is not self-describing, so JSON documents (a task's `def`, `filter` and
//! `res`, a record's task and params) are stored as JSON text inside it;
//! ids, statuses and times are stored in compact binary form, metrics as the
//! bits of their `f64` (so they round-trip bit for bit). A reader meets an
//! unknown version with [`ErrorKind::Config`](task_store::ErrorKind::Config):
//! the database was written by another build and must not be guessed at.

mod record;
mod task;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use task_store::Result;

use crate::error::SledError;

pub(crate) use record::{
    Directory, StoredArtifact, decode_directory, decode_record, encode_directory, encode_record,
};
pub use task::{decode_task, encode_task};

/// The format version of every value this build writes and reads.
pub const FORMAT_VERSION: u8 = 1;

/// The bytes of `value`: [`FORMAT_VERSION`], then postcard.
fn encode<T: Serialize>(what: &'static str, value: &T) -> Result<Vec<u8>> {
    Ok(
        postcard::to_extend(value, vec![FORMAT_VERSION]).map_err(|e| SledError::Encode {
            what,
            message: e.to_string(),
        })?,
    )
}

/// The value stored as `bytes` by [`encode`].
fn decode<T: DeserializeOwned>(what: &'static str, bytes: &[u8]) -> Result<T> {
    let (&version, body) = bytes
        .split_first()
        .ok_or_else(|| SledError::Corrupt(format!("empty {what}")))?;
    if version != FORMAT_VERSION {
        return Err(SledError::UnknownVersion {
            what,
            found: version,
            expected: FORMAT_VERSION,
        }
        .into());
    }
    Ok(postcard::from_bytes(body).map_err(|e| SledError::Corrupt(format!("{what}: {e}")))?)
}

/// A JSON value as text, inside a stored `what`.
fn json_text(what: &'static str, value: &Value) -> Result<String> {
    Ok(serde_json::to_string(value).map_err(|e| SledError::Encode {
        what,
        message: e.to_string(),
    })?)
}

/// The JSON value of text stored inside a `what`.
fn json_value(what: &'static str, text: &str) -> Result<Value> {
    Ok(serde_json::from_str(text)
        .map_err(|e| SledError::Corrupt(format!("JSON in a {what}: {e}")))?)
}
