//! Creating a collection's indexes in a way both MongoDB and FerretDB v1
//! accept, from any number of processes.
//!
//! `listIndexes` first, then one `createIndexes` per missing index. Sending
//! all indexes in one command is what MongoDB documents, but FerretDB v1.24
//! drops the connection ("slice bounds out of range" in its server log,
//! "unexpected end of file" in the driver) when two or more of the requested
//! indexes already exist: it removes the existing ones from its work list by
//! their position in the request, and the second removal indexes past the
//! shortened list. A command with one index never does that, even when
//! another process creates the same index between our `listIndexes` and our
//! `createIndexes` (the server then treats it as already there).

use futures::TryStreamExt;
use mongodb::bson::{Bson, Document};
use mongodb::{Collection, IndexModel};

use crate::error::server_code;

/// MongoDB's `NamespaceNotFound`: `listIndexes` on a collection that does
/// not exist yet.
const NAMESPACE_NOT_FOUND: i32 = 26;

/// Create each of `wanted` that `coll` does not have yet (compared by key
/// pattern), one `createIndexes` command per index.
///
/// # Errors
/// The driver's error of the failed `listIndexes` or `createIndexes`.
pub(crate) async fn create_missing(
    coll: &Collection<Document>,
    wanted: Vec<IndexModel>,
) -> mongodb::error::Result<()> {
    let existing: Vec<Vec<(String, Bson)>> = match coll.list_indexes().await {
        Ok(cursor) => {
            cursor
                .map_ok(|index| key_pattern(&index.keys))
                .try_collect()
                .await?
        }
        Err(e) if server_code(&e) == Some(NAMESPACE_NOT_FOUND) => Vec::new(),
        Err(e) => return Err(e),
    };
    for index in wanted {
        if !existing.contains(&key_pattern(&index.keys)) {
            coll.create_index(index).await?;
        }
    }
    Ok(())
}

/// A key pattern in a comparable form: servers may answer `1` as an `Int32`,
/// `Int64` or `Double`, which all mean the same direction.
fn key_pattern(keys: &Document) -> Vec<(String, Bson)> {
    keys.iter()
        .map(|(field, value)| {
            let value = match value {
                Bson::Int32(i) => Bson::Int64(i64::from(*i)),
                #[allow(clippy::cast_possible_truncation)]
                Bson::Double(f) if f.fract() == 0.0 => Bson::Int64(*f as i64),
                other => other.clone(),
            };
            (field.clone(), value)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use mongodb::bson::doc;

    use super::*;

    #[test]
    fn key_pattern_ignores_the_number_type() {
        assert_eq!(
            key_pattern(&doc! {"status": 1, "priority": -1_i64, "_id": 1.0}),
            key_pattern(&doc! {"status": 1_i64, "priority": -1, "_id": 1})
        );
        assert_ne!(
            key_pattern(&doc! {"a": 1, "b": 1}),
            key_pattern(&doc! {"b": 1, "a": 1})
        );
        assert_ne!(key_pattern(&doc! {"a": 1}), key_pattern(&doc! {"a": -1}));
    }
}
