//! Reading tasks: get, query, stat, and the list of pools.

use futures::TryStreamExt;
use mongodb::bson::{Bson, Document, doc};
use task_store::{Cursor, Error, Order, Query, QueryParams, Result, Stat, Status, Task, TaskId};

use crate::codec::{date, oid};
use crate::store::{MongoStore, not_found};
use crate::translate::translate;

impl MongoStore {
    pub(crate) async fn get_task(&self, pool: &str, id: TaskId) -> Result<Task> {
        let coll = self.pool(pool);
        let doc = coll
            .find_one(doc! {"_id": oid(id)})
            .await
            .map_err(self.err("reading a task"))?
            .ok_or_else(|| not_found(pool, id))?;
        self.task(&doc)
    }

    pub(crate) async fn query_tasks(&self, pool: &str, params: QueryParams) -> Result<Vec<Task>> {
        let coll = self.pool(pool);
        let Some(filter) = translate(&params.query)?.into_document() else {
            return Ok(Vec::new());
        };
        if params.limit == Some(0) {
            // MongoDB reads a limit of 0 as "no limit".
            return Ok(Vec::new());
        }
        // Stored times are on the server's clock, the cursor's on ours.
        let after = params.after.map(|c| {
            let server = Cursor {
                finished_at: c.finished_at.map(|t| self.time.server(t)),
                ..c
            };
            after_cursor(params.order, &server)
        });
        let filter = match after {
            Some(after) if filter.is_empty() => after,
            Some(after) => doc! {"$and": [filter, after]},
            None => filter,
        };
        let mut find = coll
            .find(filter)
            .sort(sort(params.order))
            .skip(u64::try_from(params.skip).unwrap_or(u64::MAX));
        if let Some(limit) = params.limit {
            find = find.limit(i64::try_from(limit).unwrap_or(i64::MAX));
        }
        let what = "querying tasks";
        let docs: Vec<Document> = find
            .await
            .map_err(self.err(what))?
            .try_collect()
            .await
            .map_err(self.err(what))?;
        docs.iter().map(|d| self.task(d)).collect()
    }

    pub(crate) async fn stat_tasks(&self, pool: &str, query: &Query) -> Result<Stat> {
        let coll = self.pool(pool);
        let mut stat = Stat::default();
        let Some(filter) = translate(query)?.into_document() else {
            return Ok(stat);
        };
        let what = "counting tasks";
        // An empty `$match` would still be a stage every document passes
        // through (FerretDB runs stages document by document).
        let mut pipeline = Vec::with_capacity(2);
        if !filter.is_empty() {
            pipeline.push(doc! {"$match": filter});
        }
        pipeline.push(doc! {"$group": {"_id": "$status", "n": {"$sum": 1}}});
        let groups: Vec<Document> = coll
            .aggregate(pipeline)
            .await
            .map_err(self.err(what))?
            .try_collect()
            .await
            .map_err(self.err(what))?;
        for group in groups {
            let bad = || Error::backend(format!("unexpected status count {group} from MongoDB"));
            let s: Status = match group.get("_id") {
                Some(Bson::String(s)) => s.parse().map_err(|_| bad())?,
                _ => return Err(bad()),
            };
            let n = match group.get("n") {
                Some(Bson::Int32(n)) => u64::try_from(*n).map_err(|_| bad())?,
                Some(Bson::Int64(n)) => u64::try_from(*n).map_err(|_| bad())?,
                _ => return Err(bad()),
            };
            stat.add(s, n);
        }
        Ok(stat)
    }

    pub(crate) async fn list_pools(&self) -> Result<Vec<String>> {
        self.pool_names(None).await
    }
}

/// The sort document of `order` (each has an index: see `indexes`).
fn sort(order: Order) -> Document {
    match order {
        Order::Created => doc! {"_id": 1},
        Order::CreatedDesc => doc! {"_id": -1},
        Order::Priority => doc! {"priority": -1, "_id": 1},
        // A missing `finished_at` sorts as null, before every date: last here.
        Order::Finished => doc! {"finished_at": -1, "_id": -1},
    }
}

/// The filter of the tasks after `cursor` (its time on the server's clock)
/// in `order`.
fn after_cursor(order: Order, cursor: &Cursor) -> Document {
    let id = oid(cursor.id);
    match (order, cursor.finished_at) {
        (Order::Created, _) => doc! {"_id": {"$gt": id}},
        (Order::CreatedDesc, _) => doc! {"_id": {"$lt": id}},
        (Order::Priority, _) => doc! {"$or": [
            {"priority": {"$lt": cursor.priority}},
            {"priority": cursor.priority, "_id": {"$gt": id}},
        ]},
        (Order::Finished, Some(finished)) => doc! {"$or": [
            {"finished_at": {"$lt": date(finished)}},
            {"finished_at": date(finished), "_id": {"$lt": id}},
            {"finished_at": null},
        ]},
        (Order::Finished, None) => doc! {"finished_at": null, "_id": {"$lt": id}},
    }
}
