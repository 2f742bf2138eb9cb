//! The record and artifact steps of a sequence: create, update, get, list
//! and delete records in the sequence's two experiments, put, get, list and
//! delete their artifacts, and list experiments, on the backend and the
//! model side by side.
//!
//! Records are paired by creation, like tasks; a record's task id is
//! translated through the task pairing. Experiments are named after the
//! sequence's pool, so [`experiments`](crate::RecordStore::experiments) is
//! compared on those names only (other sequences share the backend).

use std::collections::BTreeMap;

use proptest::test_runner::TestCaseError;
use serde_json::Value;

use super::pair::{Check, Pair, fail, kinds, same};
use super::step::{
    ARTIFACT_LENS, ARTIFACT_NAMES, EXPERIMENTS, METRIC_NAMES, METRIC_VALUES, RecordRef, Step,
    TAG_NAMES, TAG_VALUES, artifact_bytes, def,
};
use crate::error::ErrorKind;
use crate::record::{
    NewRecord, Record, RecordFilter, RecordId, RecordStore, UpdateRecord, flatten_params,
};

fn metric_map(entries: &[(usize, usize)]) -> BTreeMap<String, f64> {
    entries
        .iter()
        .map(|&(n, v)| (METRIC_NAMES[n].to_string(), METRIC_VALUES[v]))
        .collect()
}

fn tag_map(entries: &[(usize, usize)]) -> BTreeMap<String, String> {
    entries
        .iter()
        .map(|&(n, v)| (TAG_NAMES[n].to_string(), TAG_VALUES[v].to_string()))
        .collect()
}

/// Metrics compared bit for bit (`-0.0` is not `0.0`, NaN is never stored).
fn metric_bits(record: &Record) -> Vec<(String, u64)> {
    record
        .metrics
        .iter()
        .map(|(k, v)| (k.clone(), v.to_bits()))
        .collect()
}

impl Pair<'_> {
    /// The name of experiment `i` of this sequence.
    fn experiment(&self, i: usize) -> String {
        format!("{}{}", self.pool, EXPERIMENTS[i % EXPERIMENTS.len()])
    }

    /// The experiment and ids of a record handle; `None` before the first record.
    fn record(&self, r: RecordRef) -> Option<(String, RecordId, RecordId)> {
        if self.records.is_empty() {
            return None;
        }
        let (exp, real, model) = self.records[r.handle % self.records.len()];
        let exp = if r.wrong_experiment { exp + 1 } else { exp };
        Some((self.experiment(exp), real, model))
    }

    /// Apply a record or artifact step to both stores and compare.
    pub(super) async fn apply_record_step(&mut self, step: &Step) -> Check {
        match step {
            Step::CreateRecord {
                exp,
                task,
                def: d,
                status,
                metrics,
                tags,
                taken_id,
            } => {
                let experiment = self.experiment(*exp);
                let task_ids = task.and_then(|t| self.handle(t));
                let taken = taken_id.and_then(|i| {
                    self.record(RecordRef {
                        handle: i,
                        wrong_experiment: false,
                    })
                });
                let new = |task_id, id| NewRecord {
                    id,
                    pool: Some(self.pool.clone()),
                    task_id,
                    task: def(*d),
                    params: flatten_params(&def(*d)),
                    metrics: metric_map(metrics),
                    tags: tag_map(tags),
                    status: *status,
                };
                let real_new = new(task_ids.map(|t| t.0), taken.as_ref().map(|t| t.1));
                let model_new = new(task_ids.map(|t| t.1), taken.as_ref().map(|t| t.2));
                let r = kinds(self.real.create_record(&experiment, real_new).await);
                let m = kinds(self.model.create_record(&experiment, model_new).await);
                if let (Ok(r), Ok(m)) = (&r, &m) {
                    self.register_record(*exp, r.id, m.id, taken.is_some())?;
                }
                self.same_record("create_record", r, m)
            }
            Step::UpdateRecord {
                record,
                status,
                metrics,
                tags,
                param,
            } => {
                let Some((experiment, rid, mid)) = self.record(*record) else {
                    return Ok(());
                };
                let update = |id| UpdateRecord {
                    id,
                    status: *status,
                    params: param
                        .iter()
                        .map(|&(n, d)| (METRIC_NAMES[n].to_string(), def(d)))
                        .collect::<BTreeMap<String, Value>>(),
                    metrics: metric_map(metrics),
                    tags: tag_map(tags),
                };
                let r = kinds(self.real.update_record(&experiment, update(rid)).await);
                let m = kinds(self.model.update_record(&experiment, update(mid)).await);
                self.same_record("update_record", r, m)
            }
            Step::GetRecord { record } => {
                let Some((experiment, rid, mid)) = self.record(*record) else {
                    return Ok(());
                };
                let r = kinds(self.real.get_record(&experiment, rid).await);
                let m = kinds(self.model.get_record(&experiment, mid).await);
                self.same_record("get_record", r, m)
            }
            Step::ListRecords {
                exp,
                statuses,
                tag,
                task,
            } => {
                let experiment = self.experiment(*exp);
                let filter = |task_id| RecordFilter {
                    status: statuses.as_ref().map(|s| s.iter().copied().collect()),
                    tags: tag
                        .iter()
                        .map(|&t| tag_map(&[t]))
                        .next()
                        .unwrap_or_default(),
                    task_id,
                };
                let task_ids = task.and_then(|t| self.handle(t));
                let r = self
                    .real
                    .list_records(&experiment, &filter(task_ids.map(|t| t.0)))
                    .await;
                let m = self
                    .model
                    .list_records(&experiment, &filter(task_ids.map(|t| t.1)))
                    .await;
                self.same_records("list_records", kinds(r), kinds(m))
            }
            Step::DeleteRecord { record } => {
                let Some((experiment, rid, mid)) = self.record(*record) else {
                    return Ok(());
                };
                let r = self.real.delete_record(&experiment, rid).await;
                let m = self.model.delete_record(&experiment, mid).await;
                same("delete_record", kinds(r), kinds(m))
            }
            Step::PutArtifact {
                record,
                name,
                len,
                fill,
            } => {
                let Some((experiment, rid, mid)) = self.record(*record) else {
                    return Ok(());
                };
                let (name, data) = (
                    ARTIFACT_NAMES[*name],
                    artifact_bytes(ARTIFACT_LENS[*len], *fill),
                );
                let r = self
                    .real
                    .put_artifact(&experiment, rid, name, data.clone())
                    .await;
                let m = self.model.put_artifact(&experiment, mid, name, data).await;
                same("put_artifact", kinds(r), kinds(m))
            }
            Step::GetArtifact { record, name } => {
                let Some((experiment, rid, mid)) = self.record(*record) else {
                    return Ok(());
                };
                let name = ARTIFACT_NAMES[*name];
                let r = self.real.get_artifact(&experiment, rid, name).await;
                let m = self.model.get_artifact(&experiment, mid, name).await;
                same_bytes(&format!("get_artifact {name:?}"), kinds(r), kinds(m))
            }
            Step::ListArtifacts { record } => {
                let Some((experiment, rid, mid)) = self.record(*record) else {
                    return Ok(());
                };
                let r = self.real.list_artifacts(&experiment, rid).await;
                let m = self.model.list_artifacts(&experiment, mid).await;
                same("list_artifacts", kinds(r), kinds(m))
            }
            Step::DeleteArtifact { record, name } => {
                let Some((experiment, rid, mid)) = self.record(*record) else {
                    return Ok(());
                };
                let name = ARTIFACT_NAMES[*name];
                let r = self.real.delete_artifact(&experiment, rid, name).await;
                let m = self.model.delete_artifact(&experiment, mid, name).await;
                same("delete_artifact", kinds(r), kinds(m))
            }
            Step::Experiments => self.same_experiments("experiments").await,
            other => Err(fail(format!("not a record step: {other:?}"))),
        }
    }

    /// Compare every record and artifact of the sequence's experiments, then
    /// delete them in both stores (the experiments disappear).
    pub(super) async fn finish_records(&mut self) -> Check {
        for exp in 0..EXPERIMENTS.len() {
            let experiment = self.experiment(exp);
            let all = RecordFilter::all();
            let r = kinds(self.real.list_records(&experiment, &all).await);
            let m = kinds(self.model.list_records(&experiment, &all).await);
            self.same_records("final records", r.clone(), m)?;
            for record in r.unwrap_or_default() {
                let mid = self.record_ids[&record.id];
                let r = kinds(self.real.list_artifacts(&experiment, record.id).await);
                let m = kinds(self.model.list_artifacts(&experiment, mid).await);
                same("final artifacts", r.clone(), m)?;
                for info in r.unwrap_or_default() {
                    let r = self.real.get_artifact(&experiment, record.id, &info.name);
                    let m = self.model.get_artifact(&experiment, mid, &info.name);
                    same_bytes(
                        &format!("final artifact {:?}", info.name),
                        kinds(r.await),
                        kinds(m.await),
                    )?;
                }
                let r = self.real.delete_record(&experiment, record.id).await;
                let m = self.model.delete_record(&experiment, mid).await;
                same("delete_record at the end", kinds(r), kinds(m))?;
            }
        }
        self.same_experiments("experiments after deleting every record")
            .await
    }

    /// Pair a new record. A given id (a deleted record's, or one of the
    /// other experiment) is already paired; fresh ids sort by creation unless the id counter wrapped
    /// within one second (then the sequence is rejected, as for tasks).
    fn register_record(
        &mut self,
        exp: usize,
        real: RecordId,
        model: RecordId,
        given: bool,
    ) -> Check {
        if given {
            same(
                "the record id given on create",
                self.record_ids.get(&real),
                Some(&model),
            )?;
            if !self.records.contains(&(exp, real, model)) {
                self.records.push((exp, real, model));
            }
            return Ok(());
        }
        if let Some((r, m)) = self.newest_record
            && (real <= r || model <= m)
        {
            return Err(TestCaseError::reject("the record id counter wrapped"));
        }
        self.newest_record = Some((real, model));
        self.record_ids.insert(real, model);
        self.records.push((exp, real, model));
        Ok(())
    }

    /// A backend record in the model's ids.
    fn translate_record(&self, mut record: Record) -> Result<Record, TestCaseError> {
        record.id = *self.record_ids.get(&record.id).ok_or_else(|| {
            fail(format!(
                "the backend returned an unknown record {}",
                record.id
            ))
        })?;
        if let Some(task_id) = record.task_id.as_mut() {
            *task_id = *self
                .ids
                .get(task_id)
                .ok_or_else(|| fail(format!("a backend record names an unknown task {task_id}")))?;
        }
        Ok(record)
    }

    fn same_record(
        &self,
        what: &str,
        real: Result<Record, ErrorKind>,
        model: Result<Record, ErrorKind>,
    ) -> Check {
        self.same_records(what, real.map(|r| vec![r]), model.map(|m| vec![m]))
    }

    fn same_records(
        &self,
        what: &str,
        real: Result<Vec<Record>, ErrorKind>,
        model: Result<Vec<Record>, ErrorKind>,
    ) -> Check {
        let real = match real {
            Ok(records) => Ok(records
                .into_iter()
                .map(|r| self.translate_record(r))
                .collect::<Result<Vec<_>, _>>()?),
            Err(kind) => Err(kind),
        };
        if let (Ok(r), Ok(m)) = (&real, &model) {
            let bits = |records: &[Record]| records.iter().map(metric_bits).collect::<Vec<_>>();
            same(&format!("{what}: metric bits"), bits(r), bits(m))?;
        }
        same(what, real, model)
    }

    /// The sequence's experiments among `experiments()`, in both stores.
    async fn same_experiments(&self, what: &str) -> Check {
        let ours: Vec<String> = (0..EXPERIMENTS.len()).map(|i| self.experiment(i)).collect();
        let mine = |all: Vec<String>| {
            all.into_iter()
                .filter(|e| ours.contains(e))
                .collect::<Vec<_>>()
        };
        let r = kinds(self.real.experiments().await).map(mine);
        let m = kinds(self.model.experiments().await).map(mine);
        same(what, r, m)
    }
}

/// Artifact bytes compared by length and content, printed short.
fn same_bytes(
    what: &str,
    real: Result<Vec<u8>, ErrorKind>,
    model: Result<Vec<u8>, ErrorKind>,
) -> Check {
    if real == model {
        return Ok(());
    }
    let show = |r: &Result<Vec<u8>, ErrorKind>| match r {
        Ok(bytes) => format!("{} bytes", bytes.len()),
        Err(kind) => format!("{kind:?}"),
    };
    Err(fail(format!(
        "{what}: backend gave {}, model gave {} (contents differ if the lengths agree)",
        show(&real),
        show(&model)
    )))
}
