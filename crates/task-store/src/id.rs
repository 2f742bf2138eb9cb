//! Task ids: 12-byte ObjectId-style values written as 24 lowercase hex digits.
//!
//! Layout (as MongoDB's ObjectId): 4 bytes of seconds since the epoch, 5 bytes
//! chosen at random once per process, 3 bytes of a per-process counter. Ids
//! made by one process sort by creation; ids from different processes sort by
//! second of creation. Ids are made client-side so every backend stores the
//! same value.

use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::{Error, Result};
use crate::time::Timestamp;

/// A task id (24 hex digits).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TaskId([u8; 12]);

fn process_random() -> [u8; 5] {
    static RANDOM: OnceLock<[u8; 5]> = OnceLock::new();
    *RANDOM.get_or_init(rand::random)
}

fn counter() -> &'static AtomicU32 {
    static COUNTER: OnceLock<AtomicU32> = OnceLock::new();
    COUNTER.get_or_init(|| AtomicU32::new(rand::random::<u32>() & 0x00ff_ffff))
}

impl TaskId {
    /// A fresh id stamped with `now`.
    pub fn generate(now: Timestamp) -> TaskId {
        let secs = (now.as_millis().div_euclid(1000)).clamp(0, u32::MAX as i64) as u32;
        let count = counter().fetch_add(1, Ordering::Relaxed) & 0x00ff_ffff;
        let mut bytes = [0u8; 12];
        bytes[..4].copy_from_slice(&secs.to_be_bytes());
        bytes[4..9].copy_from_slice(&process_random());
        bytes[9..].copy_from_slice(&count.to_be_bytes()[1..]);
        TaskId(bytes)
    }

    /// The id from its 12 raw bytes.
    pub fn from_bytes(bytes: [u8; 12]) -> TaskId {
        TaskId(bytes)
    }

    /// The 12 raw bytes.
    pub fn bytes(&self) -> [u8; 12] {
        self.0
    }

    /// The 24-hex form.
    pub fn to_hex(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TaskId({self})")
    }
}

impl FromStr for TaskId {
    type Err = Error;

    /// Parses 24 hex digits (either case).
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) naming the bad value.
    fn from_str(s: &str) -> Result<TaskId> {
        let bad = || {
            Error::invalid_input(format!(
                "invalid task id {s:?}: expected 24 hexadecimal digits"
            ))
        };
        if s.len() != 24 || !s.is_ascii() {
            return Err(bad());
        }
        let mut bytes = [0u8; 12];
        for (i, byte) in bytes.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).map_err(|_| bad())?;
        }
        Ok(TaskId(bytes))
    }
}

impl Serialize for TaskId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for TaskId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<TaskId, D::Error> {
        let s = String::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_sort_by_creation() {
        let now = Timestamp::from_millis(1_700_000_000_000);
        let a = TaskId::generate(now);
        let b = TaskId::generate(now);
        assert!(a < b || (a.bytes()[9..] == [0xff, 0xff, 0xff]));
        assert_eq!(a.to_string().parse::<TaskId>().unwrap(), a);
        assert_eq!(a.to_string().len(), 24);
        let later = TaskId::generate(Timestamp::from_millis(1_700_000_001_000));
        assert!(a < later);
    }

    #[test]
    fn parse_rejects_bad_ids() {
        for bad in [
            "",
            "xyz",
            "615498be837d0053acbc5d5",
            "615498be837d0053acbc5d5g",
            "é15498be837d0053acbc5d5",
        ] {
            assert_eq!(
                bad.parse::<TaskId>().unwrap_err().kind(),
                crate::ErrorKind::InvalidInput
            );
        }
    }
}
