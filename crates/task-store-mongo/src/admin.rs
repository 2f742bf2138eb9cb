//! Managing tasks in bulk: remove, reset_status, prioritize, replace, and
//! dropping a pool.

use mongodb::bson::{Document, doc};
use mongodb::options::ReturnDocument;
use task_store::{
    Error, ErrorKind, Query, ReplaceParams, ResetParams, Result, Status, Task, content_key,
};

use crate::codec::value::to_bson;
use crate::codec::{count, date, encode_checked, oid, status};
use crate::store::{MongoStore, not_found};
use crate::translate::translate;

impl MongoStore {
    pub(crate) async fn remove_tasks(&self, pool: &str, query: &Query) -> Result<u64> {
        let coll = self.pool(pool);
        let Some(filter) = translate(query)?.into_document() else {
            return Ok(0);
        };
        let result = coll
            .delete_many(filter)
            .await
            .map_err(self.err("removing tasks"))?;
        Ok(result.deleted_count)
    }

    /// `update_many` on the tasks matching `query`; returns how many matched.
    ///
    /// A `find_one` first skips the write when nothing matches: FerretDB
    /// creates a missing collection on `update`, which would bring a pool
    /// into existence.
    async fn update_matching(
        &self,
        pool: &str,
        query: &Query,
        update: Document,
        what: &str,
    ) -> Result<u64> {
        let coll = self.pool(pool);
        let Some(filter) = translate(query)?.into_document() else {
            return Ok(0);
        };
        let any = coll
            .find_one(filter.clone())
            .projection(doc! {"_id": 1})
            .await
            .map_err(self.err(what))?;
        if any.is_none() {
            return Ok(0);
        }
        let result = coll
            .update_many(filter, update)
            .await
            .map_err(self.err(what))?;
        Ok(result.matched_count)
    }

    pub(crate) async fn reset_tasks(&self, pool: &str, params: ResetParams) -> Result<u64> {
        let now = self.now().await;
        let mut set = doc! {"status": status(params.status), "updated_at": date(now)};
        let mut unset = doc! {"lease": ""};
        if params.status.is_claimable() {
            set.insert("attempts", count(0));
        }
        if matches!(params.status, Status::Done | Status::Failed) {
            set.insert("finished_at", date(now));
        } else {
            unset.insert("finished_at", "");
        }
        self.update_matching(
            pool,
            &params.query,
            doc! {"$set": set, "$unset": unset},
            "resetting tasks",
        )
        .await
    }

    pub(crate) async fn prioritize_tasks(
        &self,
        pool: &str,
        query: &Query,
        priority: i64,
    ) -> Result<u64> {
        let now = self.now().await;
        let update = doc! {"$set": {"priority": priority, "updated_at": date(now)}};
        self.update_matching(pool, query, update, "setting priorities")
            .await
    }

    pub(crate) async fn replace_task(&self, pool: &str, params: ReplaceParams) -> Result<Task> {
        let coll = self.pool(pool);
        let now = self.now().await;
        let key = content_key(&params.def);
        // A filter that is the definition is not stored (see the codec).
        let filter = params.filter.filter(|f| *f != params.def);
        let def = to_bson(&params.def)?;
        let filter = filter.as_ref().map(to_bson).transpose()?;
        let mut fields = doc! {"def": def.clone()};
        if let Some(filter) = &filter {
            fields.insert("filter", filter.clone());
        }
        encode_checked(
            &fields,
            &format!("the new definition of task {}", params.id),
        )?;
        let what = "replacing a task";
        let holder = coll
            .find_one(doc! {"key": &key, "_id": {"$ne": oid(params.id)}})
            .projection(doc! {"_id": 1})
            .await
            .map_err(self.err(what))?;
        if let Some(holder) = holder {
            self.get_task(pool, params.id).await?;
            let other = holder
                .get_object_id("_id")
                .map_or_else(|_| "another task".to_string(), |o| format!("task {o}"));
            return Err(already_has_definition(pool, &other));
        }
        let mut unset = doc! {"res": "", "lease": "", "started_at": "", "finished_at": ""};
        if filter.is_none() {
            unset.insert("filter", "");
        }
        fields.extend(doc! {
            "key": &key,
            "status": status(Status::Waiting),
            "attempts": count(0),
            "errors": [],
            "updated_at": date(now),
        });
        let update = doc! {"$set": fields, "$unset": unset};
        let updated = coll
            .find_one_and_update(doc! {"_id": oid(params.id)}, update)
            .return_document(ReturnDocument::After)
            .await
            .map_err(|e| match self.err(what)(e) {
                e if e.kind() == ErrorKind::AlreadyExists => {
                    already_has_definition(pool, "another task")
                }
                e => e,
            })?
            .ok_or_else(|| not_found(pool, params.id))?;
        self.task(&updated)
    }

    /// Drop the pool's collection if it exists. A missing collection is
    /// not dropped: MongoDB answers `NamespaceNotFound` (code 26), which the
    /// driver ignores, but mongo-java-server answers without a code, which
    /// the driver cannot parse. A drop that fails because another store
    /// dropped the collection meanwhile is `Ok(false)`.
    pub(crate) async fn drop_pool_named(&self, pool: &str) -> Result<bool> {
        self.forget_pool(pool).await;
        if !self.pool_exists(pool).await? {
            return Ok(false);
        }
        match self.pool(pool).drop().await {
            Ok(()) => Ok(true),
            Err(e) if !self.pool_exists(pool).await? => {
                tracing::debug!(pool, error = %e, "pool dropped concurrently");
                Ok(false)
            }
            Err(e) => Err(self.err("dropping a pool")(e)),
        }
    }
}

fn already_has_definition(pool: &str, other: &str) -> Error {
    Error::new(
        ErrorKind::AlreadyExists,
        format!("{other} in pool {pool:?} already has this definition"),
    )
}
