//! Artifacts: one row of `artifacts` per artifact (record, name, length) and
//! its bytes split into `artifact_chunks` rows of at most [`CHUNK_LEN`]
//! bytes, so no row, statement or bound value ever holds a whole artifact of
//! hundreds of megabytes.
//!
//! A put writes the artifact row and every chunk in one `BEGIN IMMEDIATE`
//! transaction (a reader sees the old bytes or the new ones, never a mix); a
//! get reads the artifact row and its chunks in one read transaction, so it
//! sees one snapshot. Every operation first checks that the record exists,
//! inside the same transaction.

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use task_store::{ArtifactInfo, Error, RecordId};

use crate::error::{Result, SqliteError};
use crate::records::require_record;

/// The largest chunk row, in bytes (1 MiB).
pub(crate) const CHUNK_LEN: usize = 1 << 20;

const FIND: &str =
    "SELECT id, len FROM artifacts WHERE experiment = ?1 AND record_id = ?2 AND name = ?3";

const READ_CHUNKS: &str = "SELECT seq, data FROM artifact_chunks WHERE artifact = ?1 ORDER BY seq";

/// The artifact's row id and length, if it exists.
fn find(
    conn: &Connection,
    experiment: &str,
    id: RecordId,
    name: &str,
) -> Result<Option<(i64, i64)>> {
    Ok(conn
        .prepare_cached(FIND)?
        .query_row(params![experiment, id.to_string(), name], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()?)
}

/// Store `data` as artifact `name` of a record, replacing an artifact of
/// that name (name and length already validated).
pub(crate) fn put(
    conn: &mut Connection,
    experiment: &str,
    id: RecordId,
    name: &str,
    data: &[u8],
) -> Result<()> {
    let len = i64::try_from(data.len()).map_err(|_| {
        SqliteError::Store(Error::invalid_input(format!(
            "artifact of {} bytes is too long",
            data.len()
        )))
    })?;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    require_record(&tx, experiment, id)?;
    let artifact: i64 = tx
        .prepare_cached(
            "INSERT INTO artifacts (experiment, record_id, name, len) VALUES (?1, ?2, ?3, ?4) \
             ON CONFLICT (experiment, record_id, name) DO UPDATE SET len = excluded.len \
             RETURNING id",
        )?
        .query_row(params![experiment, id.to_string(), name, len], |r| r.get(0))?;
    tx.prepare_cached("DELETE FROM artifact_chunks WHERE artifact = ?1")?
        .execute([artifact])?;
    {
        let mut insert = tx.prepare_cached(
            "INSERT INTO artifact_chunks (artifact, seq, data) VALUES (?1, ?2, ?3)",
        )?;
        for (seq, chunk) in (0i64..).zip(data.chunks(CHUNK_LEN)) {
            insert.execute(params![artifact, seq, chunk])?;
        }
    }
    tx.commit()?;
    Ok(())
}

/// The bytes of artifact `name` of a record.
pub(crate) fn get(
    conn: &mut Connection,
    experiment: &str,
    id: RecordId,
    name: &str,
) -> Result<Vec<u8>> {
    let tx = conn.transaction()?;
    require_record(&tx, experiment, id)?;
    let (artifact, len) = find(&tx, experiment, id, name)?.ok_or_else(|| {
        SqliteError::Store(Error::not_found(format!(
            "no artifact {name:?} in record {id} of experiment {experiment:?}"
        )))
    })?;
    let corrupt = |what: &str| {
        SqliteError::Corrupt(format!(
            "artifact {name:?} of record {id} in experiment {experiment:?}: {what}"
        ))
    };
    let expected = usize::try_from(len).map_err(|_| corrupt("bad length"))?;
    let mut data = Vec::new();
    data.try_reserve_exact(expected)
        .map_err(|_| corrupt("length too large to hold in memory"))?;
    {
        let mut chunks = tx.prepare_cached(READ_CHUNKS)?;
        let mut rows = chunks.query([artifact])?;
        let mut next_seq = 0i64;
        while let Some(row) = rows.next()? {
            if row.get::<_, i64>(0)? != next_seq {
                return Err(corrupt("a chunk is missing"));
            }
            let chunk = row
                .get_ref(1)?
                .as_blob()
                .map_err(|_| corrupt("a chunk is not a blob"))?;
            data.extend_from_slice(chunk);
            next_seq += 1;
        }
    }
    tx.commit()?;
    if data.len() != expected {
        return Err(corrupt(&format!(
            "{} bytes stored, {expected} expected",
            data.len()
        )));
    }
    Ok(data)
}

/// The artifacts of a record, sorted by name.
pub(crate) fn list(
    conn: &mut Connection,
    experiment: &str,
    id: RecordId,
) -> Result<Vec<ArtifactInfo>> {
    let tx = conn.transaction()?;
    require_record(&tx, experiment, id)?;
    let rows = tx
        .prepare_cached(
            "SELECT name, len FROM artifacts WHERE experiment = ?1 AND record_id = ?2 \
             ORDER BY name",
        )?
        .query_map(params![experiment, id.to_string()], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    tx.commit()?;
    rows.into_iter()
        .map(|(name, len)| {
            let len = u64::try_from(len).map_err(|_| {
                SqliteError::Corrupt(format!("artifact {name:?} of record {id}: bad length"))
            })?;
            Ok(ArtifactInfo { name, len })
        })
        .collect()
}

/// Delete artifact `name` of a record; whether it existed.
pub(crate) fn delete(
    conn: &mut Connection,
    experiment: &str,
    id: RecordId,
    name: &str,
) -> Result<bool> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    require_record(&tx, experiment, id)?;
    let Some((artifact, _)) = find(&tx, experiment, id, name)? else {
        return Ok(false);
    };
    tx.prepare_cached("DELETE FROM artifact_chunks WHERE artifact = ?1")?
        .execute([artifact])?;
    tx.prepare_cached("DELETE FROM artifacts WHERE id = ?1")?
        .execute([artifact])?;
    tx.commit()?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query_plan::plan;

    #[test]
    fn lookups_and_chunk_reads_walk_their_indexes() {
        let mut conn = Connection::open_in_memory().unwrap();
        crate::schema::migrate(&mut conn, "mem").unwrap();
        let find = plan(&conn, FIND);
        assert!(
            find.contains("INDEX artifacts_record_name (experiment=? AND record_id=? AND name=?)"),
            "{find}"
        );
        let chunks = plan(&conn, READ_CHUNKS);
        assert!(
            chunks.contains("INDEX artifact_chunks_artifact_seq (artifact=?)"),
            "{chunks}"
        );
        assert!(!chunks.contains("TEMP B-TREE"), "{chunks}");
    }
}
