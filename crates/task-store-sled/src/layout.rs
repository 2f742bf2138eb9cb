//! The on-disk layout: tree names and key encodings.
//!
//! Every key of a pool's entries starts with the pool prefix (one length byte,
//! then the name), so a pool is a contiguous key range in every tree and pools
//! with a common name prefix (`a`, `ab`) never interleave. Integers are
//! big-endian so that byte order is numeric order.
//!
//! | tree | key | value |
//! |---|---|---|
//! | [`TASKS_TREE`] | pool · id (12 bytes) | the task ([`crate::codec`]) |
//! | [`CLAIM_TREE`] | pool · status (1) · priority, descending (8) · id (12) | empty |
//! | [`KEYS_TREE`] | pool · content key (64 hex digits) | id (12 bytes) |
//! | [`EXPIRY_TREE`] | pool · lease `expires_at` (8) · id (12), `running` tasks only | empty |
//! | [`POOLS_TREE`] | pool name | empty |
//! | [`COUNTS_TREE`] | pool | the pool's task counts by status ([`encode_counts`]), absent when it has no tasks |
//! | [`META_TREE`] | [`LAYOUT_VERSION_KEY`] | [`LAYOUT_VERSION`] (one byte) |
//! | [`RECORDS_TREE`] | experiment · record id (12) | the record: a format-version byte, then postcard (JSON values as text, metrics as `f64` bits) |
//! | [`ARTIFACTS_TREE`] | experiment · record id (12) | the record's artifact directory: name, length and chunk count of each artifact (absent when it has none) |
//! | [`CHUNKS_TREE`] | experiment · record id (12) · artifact name · `0x00` · chunk index (4) | at most [`CHUNK_LEN`] bytes of the artifact |
//!
//! An experiment prefix is built like a pool prefix ([`experiment_prefix`]).
//! Artifact names never contain a zero byte, so the `0x00` after the name
//! keeps `a` and `a/b` apart and makes the chunks of one record sort by
//! artifact name, then by chunk index.
//!
//! The counts of a pool are one value, so one read sees all five at one
//! moment; every transaction that adds, removes or moves tasks between
//! statuses rewrites them. A database without a layout version was written
//! before counts were kept (layout 1): opening it counts the claim index
//! once and writes the counts with the version.
//!
//! A walk of the claim tree under `pool · status` visits that status's tasks
//! highest priority first, then by id (creation order): exactly claim order.
//! A walk of the expiry tree up to `pool · now` visits the expired leases.
//!
//! This module is public so that benchmarks can compare the store with raw
//! sled operations doing the same work, and tests can reach below the store.

use task_store::{RecordId, Stat, Status, TaskId, Timestamp};

/// The tree of task records.
pub const TASKS_TREE: &str = "tasks";
/// The claim index: every task by (pool, status, priority desc, id).
pub const CLAIM_TREE: &str = "claim";
/// The unique content-key index: (pool, key) → id.
pub const KEYS_TREE: &str = "keys";
/// The lease-expiry index of `running` tasks: (pool, expires_at, id).
pub const EXPIRY_TREE: &str = "expiry";
/// The pool names.
pub const POOLS_TREE: &str = "pools";

/// The task counts of every pool, by status.
pub const COUNTS_TREE: &str = "counts";
/// Facts about the whole database: its layout version.
pub const META_TREE: &str = "meta";
/// The key of the layout version in [`META_TREE`].
pub const LAYOUT_VERSION_KEY: &[u8] = b"layout_version";
/// The layout this build writes and reads: 2, the first with
/// [`COUNTS_TREE`]. A database without a version is layout 1 and is
/// upgraded when opened.
pub const LAYOUT_VERSION: u8 = 2;

/// The records of every experiment.
pub const RECORDS_TREE: &str = "records";
/// The artifact directory of every record that has artifacts.
pub const ARTIFACTS_TREE: &str = "artifacts";
/// The bytes of every artifact, in chunks.
pub const CHUNKS_TREE: &str = "artifact_chunks";

/// The largest artifact chunk, in bytes (1 MiB): a 512 MiB artifact is 512
/// values, none of which sled has to hold or log as one piece.
pub const CHUNK_LEN: usize = 1 << 20;

/// The length of an encoded id.
pub const ID_LEN: usize = 12;

/// The prefix of every key of `pool` (a length byte, then the name).
///
/// Pool names are at most 64 bytes ([`task_store::MAX_POOL_NAME_LEN`]), so the
/// length fits in one byte.
pub fn pool_prefix(pool: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(1 + pool.len() + 1 + 8 + ID_LEN);
    key.push(pool.len() as u8);
    key.extend_from_slice(pool.as_bytes());
    key
}

/// Split a key into its pool name and the rest; `None` if it is malformed.
pub fn split_pool(key: &[u8]) -> Option<(&str, &[u8])> {
    let (&len, rest) = key.split_first()?;
    let len = usize::from(len);
    if rest.len() < len {
        return None;
    }
    let (name, tail) = rest.split_at(len);
    Some((std::str::from_utf8(name).ok()?, tail))
}

/// The key of a task: pool · id.
pub fn task_key(prefix: &[u8], id: TaskId) -> Vec<u8> {
    let mut key = prefix.to_vec();
    key.extend_from_slice(&id.bytes());
    key
}

/// The one-byte code of a status in index keys (stable on disk).
pub fn status_code(status: Status) -> u8 {
    match status {
        Status::Waiting => 0,
        Status::Running => 1,
        Status::PartDone => 2,
        Status::Done => 3,
        Status::Failed => 4,
    }
}

/// The status of a one-byte code; `None` for an unknown code.
pub fn status_from_code(code: u8) -> Option<Status> {
    Status::ALL.into_iter().find(|s| status_code(*s) == code)
}

/// A priority encoded so that ascending byte order is descending priority.
pub fn priority_desc(priority: i64) -> [u8; 8] {
    (!((priority as u64) ^ (1 << 63))).to_be_bytes()
}

/// The priority of [`priority_desc`] bytes.
pub fn priority_from_desc(bytes: [u8; 8]) -> i64 {
    ((!u64::from_be_bytes(bytes)) ^ (1 << 63)) as i64
}

/// A timestamp encoded so that ascending byte order is ascending time.
pub fn time_asc(t: Timestamp) -> [u8; 8] {
    ((t.as_millis() as u64) ^ (1 << 63)).to_be_bytes()
}

/// The timestamp of [`time_asc`] bytes.
pub fn time_from_asc(bytes: [u8; 8]) -> Timestamp {
    Timestamp::from_millis((u64::from_be_bytes(bytes) ^ (1 << 63)) as i64)
}

/// The claim-index prefix of one status of a pool.
pub fn claim_prefix(prefix: &[u8], status: Status) -> Vec<u8> {
    let mut key = prefix.to_vec();
    key.push(status_code(status));
    key
}

/// The first claim-index key after every key of one status of a pool (the
/// end of the range that starts at [`claim_prefix`]).
pub fn claim_prefix_end(prefix: &[u8], status: Status) -> Vec<u8> {
    let mut key = prefix.to_vec();
    key.push(status_code(status) + 1);
    key
}

/// The claim-index key of a task: pool · status · priority desc · id.
pub fn claim_key(prefix: &[u8], status: Status, priority: i64, id: TaskId) -> Vec<u8> {
    let mut key = claim_prefix(prefix, status);
    key.extend_from_slice(&priority_desc(priority));
    key.extend_from_slice(&id.bytes());
    key
}

/// The `(status, priority, id)` of the part of a claim-index key after the
/// pool prefix; `None` if it is malformed.
pub fn parse_claim_suffix(suffix: &[u8]) -> Option<(Status, i64, TaskId)> {
    if suffix.len() != 1 + 8 + ID_LEN {
        return None;
    }
    let status = status_from_code(suffix[0])?;
    let priority = priority_from_desc(suffix[1..9].try_into().ok()?);
    Some((status, priority, id_from_bytes(&suffix[9..])?))
}

/// The length of an encoded [`Stat`]: five counts of 8 bytes.
pub const COUNTS_LEN: usize = 5 * 8;

/// A pool's counts by status, big-endian, in [`status_code`] order.
pub fn encode_counts(stat: &Stat) -> [u8; COUNTS_LEN] {
    let mut out = [0; COUNTS_LEN];
    for status in Status::ALL {
        let at = usize::from(status_code(status)) * 8;
        out[at..at + 8].copy_from_slice(&stat.get(status).to_be_bytes());
    }
    out
}

/// The counts of [`encode_counts`] bytes; `None` if they are malformed.
pub fn decode_counts(bytes: &[u8]) -> Option<Stat> {
    if bytes.len() != COUNTS_LEN {
        return None;
    }
    let mut stat = Stat::default();
    for status in Status::ALL {
        let at = usize::from(status_code(status)) * 8;
        stat.add(
            status,
            u64::from_be_bytes(bytes[at..at + 8].try_into().ok()?),
        );
    }
    Some(stat)
}

/// The content-key index key: pool · key.
pub fn content_key_key(prefix: &[u8], key: &str) -> Vec<u8> {
    let mut out = prefix.to_vec();
    out.extend_from_slice(key.as_bytes());
    out
}

/// The expiry-index key of a lease: pool · expires_at · id.
pub fn expiry_key(prefix: &[u8], expires_at: Timestamp, id: TaskId) -> Vec<u8> {
    let mut key = prefix.to_vec();
    key.extend_from_slice(&time_asc(expires_at));
    key.extend_from_slice(&id.bytes());
    key
}

/// The first expiry-index key of a pool that is not expired at `now`
/// (leases with `expires_at <= now` sort before it).
pub fn expiry_bound(prefix: &[u8], now: Timestamp) -> Vec<u8> {
    let mut key = prefix.to_vec();
    key.extend_from_slice(&time_asc(Timestamp::from_millis(
        now.as_millis().saturating_add(1),
    )));
    key
}

/// The `(expires_at, id)` of the part of an expiry-index key after the pool
/// prefix; `None` if it is malformed.
pub fn parse_expiry_suffix(suffix: &[u8]) -> Option<(Timestamp, TaskId)> {
    if suffix.len() != 8 + ID_LEN {
        return None;
    }
    let expires_at = time_from_asc(suffix[..8].try_into().ok()?);
    Some((expires_at, id_from_bytes(&suffix[8..])?))
}

/// An id from exactly [`ID_LEN`] bytes.
pub fn id_from_bytes(bytes: &[u8]) -> Option<TaskId> {
    Some(TaskId::from_bytes(bytes.try_into().ok()?))
}

/// The id at the end of an index key.
pub fn trailing_id(key: &[u8]) -> Option<TaskId> {
    key.len()
        .checked_sub(ID_LEN)
        .and_then(|start| id_from_bytes(&key[start..]))
}

/// The prefix of every key of `experiment` (built like [`pool_prefix`];
/// experiment names follow the pool-name rule).
pub fn experiment_prefix(experiment: &str) -> Vec<u8> {
    pool_prefix(experiment)
}

/// The key of a record, and of its artifact directory: experiment · id.
pub fn record_key(prefix: &[u8], id: RecordId) -> Vec<u8> {
    let mut key = prefix.to_vec();
    key.extend_from_slice(&id.bytes());
    key
}

/// The prefix of the chunk keys of artifact `name` of a record:
/// experiment · id · name · `0x00`.
pub fn artifact_chunks_prefix(prefix: &[u8], id: RecordId, name: &str) -> Vec<u8> {
    let mut key = record_key(prefix, id);
    key.extend_from_slice(name.as_bytes());
    key.push(0);
    key
}

/// The key of chunk `index` of artifact `name` of a record.
pub fn chunk_key(prefix: &[u8], id: RecordId, name: &str, index: u32) -> Vec<u8> {
    let mut key = artifact_chunks_prefix(prefix, id, name);
    key.extend_from_slice(&index.to_be_bytes());
    key
}

/// The `(record id, artifact name, chunk index)` of the part of a chunk key
/// after the experiment prefix; `None` if it is malformed.
pub fn parse_chunk_suffix(suffix: &[u8]) -> Option<(RecordId, &str, u32)> {
    let (id, rest) = suffix.split_at_checked(ID_LEN)?;
    let (name, index) = rest.split_at_checked(rest.len().checked_sub(5)?)?;
    let (&zero, index) = index.split_first()?;
    if zero != 0 {
        return None;
    }
    Some((
        RecordId::from_bytes(id.try_into().ok()?),
        std::str::from_utf8(name).ok()?,
        u32::from_be_bytes(index.try_into().ok()?),
    ))
}

/// The record id of the part of a record (or artifact-directory) key after
/// the experiment prefix; `None` if it is malformed.
pub fn parse_record_suffix(suffix: &[u8]) -> Option<RecordId> {
    Some(RecordId::from_bytes(suffix.try_into().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn priority_bytes_sort_descending() {
        let ps = [i64::MIN, -5, -1, 0, 1, 7, i64::MAX];
        for w in ps.windows(2) {
            assert!(priority_desc(w[0]) > priority_desc(w[1]));
        }
        for p in ps {
            assert_eq!(priority_from_desc(priority_desc(p)), p);
        }
    }

    #[test]
    fn time_bytes_sort_ascending() {
        let ts = [i64::MIN, -1, 0, 1, 1_767_225_600_000, i64::MAX];
        for w in ts.windows(2) {
            let (a, b) = (Timestamp::from_millis(w[0]), Timestamp::from_millis(w[1]));
            assert!(time_asc(a) < time_asc(b));
            assert_eq!(time_from_asc(time_asc(a)), a);
        }
    }

    #[test]
    fn pool_prefixes_never_interleave() {
        let a = task_key(&pool_prefix("a"), TaskId::from_bytes([0xff; 12]));
        let ab = task_key(&pool_prefix("ab"), TaskId::from_bytes([0; 12]));
        assert!(!ab.starts_with(&pool_prefix("a")));
        assert!(!a.starts_with(&pool_prefix("ab")));
        assert_eq!(split_pool(&ab).map(|(p, _)| p), Some("ab"));
    }

    #[test]
    fn chunk_keys_round_trip_and_sort_by_name_then_index() {
        let prefix = experiment_prefix("e");
        let id = RecordId::from_bytes([3; 12]);
        let key = chunk_key(&prefix, id, "sig/ic.bin", 7);
        let (exp, suffix) = split_pool(&key).unwrap();
        assert_eq!(exp, "e");
        assert_eq!(parse_chunk_suffix(suffix), Some((id, "sig/ic.bin", 7)));
        let ordered = [
            chunk_key(&prefix, id, "a", 0),
            chunk_key(&prefix, id, "a", 1),
            chunk_key(&prefix, id, "a", 256),
            chunk_key(&prefix, id, "a/b", 0),
            chunk_key(&prefix, id, "ab", 0),
        ];
        for w in ordered.windows(2) {
            assert!(w[0] < w[1]);
        }
        let of_a = artifact_chunks_prefix(&prefix, id, "a");
        assert!(ordered[1].starts_with(&of_a));
        assert!(!ordered[3].starts_with(&of_a) && !ordered[4].starts_with(&of_a));
    }

    #[test]
    fn counts_round_trip() {
        let stat = Stat {
            waiting: 1,
            running: 2,
            part_done: 3,
            done: u64::MAX,
            failed: 0,
        };
        assert_eq!(decode_counts(&encode_counts(&stat)), Some(stat));
        assert_eq!(decode_counts(&[0; COUNTS_LEN - 1]), None);
    }

    #[test]
    fn claim_keys_round_trip() {
        let id = TaskId::from_bytes([7; 12]);
        let key = claim_key(&pool_prefix("p"), Status::PartDone, -3, id);
        let (pool, suffix) = split_pool(&key).unwrap();
        assert_eq!(pool, "p");
        assert_eq!(parse_claim_suffix(suffix), Some((Status::PartDone, -3, id)));
        let (start, end) = (
            claim_prefix(&pool_prefix("p"), Status::PartDone),
            claim_prefix_end(&pool_prefix("p"), Status::PartDone),
        );
        assert!(start <= key && key < end);
        let next = claim_key(&pool_prefix("p"), Status::Done, i64::MAX, id);
        assert!(end <= next);
    }
}
