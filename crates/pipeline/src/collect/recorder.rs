//! [`RecorderCollector`]: artifacts of an experiment's records, by record key.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use async_trait::async_trait;
use indexmap::IndexMap;
use task_store::{
    Error, ErrorKind, Record, RecordFilter, RecordStatus, RecordStore, Result,
    record::validate_artifact_name,
};

use super::{Collection, Collector, Key, Node, Process};
use crate::frame::Frame;

/// Which record wins when several records of the experiment have the same key.
///
/// Qlib keeps the **oldest** recorder, by accident (it iterates newest first
/// and lets later writes win, reference §9 B20). Here the rule is explicit
/// and the default is [`Newest`](DuplicateRule::Newest): re-running a task
/// supersedes its stale result. "Newest" and "oldest" compare
/// `(created_at, id)`. The choice is made per key before any artifact is
/// loaded: if the winner lacks an artifact, that artifact is missing for the
/// key (an older record's artifact is never used instead). Every duplicate
/// is logged as a warning naming the kept and the dropped record.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum DuplicateRule {
    /// The most recently created record wins (default).
    #[default]
    Newest,
    /// The earliest created record wins (Qlib's observable behaviour).
    Oldest,
    /// A duplicate key is an error (`AlreadyExists`).
    Error,
}

type KeyFn = Box<dyn Fn(&Record) -> Result<Key> + Send + Sync>;
type RecFilterFn = Box<dyn Fn(&Record) -> bool + Send + Sync>;
type LoadFn<T> = Box<dyn Fn(&Record, &str, Vec<u8>) -> Result<T> + Send + Sync>;

/// Collects artifacts of the records of one experiment (Qlib's
/// `RecorderCollector`): `{artifact name: {record key: value}}`.
///
/// Defaults: records with status `finished`, key = record id, artifact
/// `pred` decoded as a [`Frame`], missing artifacts skipped with a warning,
/// [`DuplicateRule::Newest`].
///
/// Within each artifact's map the keys appear in the creation order of
/// their winning records. Every requested artifact name appears in the
/// result, with an empty map if no record has it.
pub struct RecorderCollector<T> {
    store: Arc<dyn RecordStore>,
    experiment: String,
    filter: RecordFilter,
    rec_filter: Option<RecFilterFn>,
    key_fn: KeyFn,
    artifacts: Vec<String>,
    only_exist: bool,
    duplicates: DuplicateRule,
    load: LoadFn<T>,
    process_list: Vec<Box<dyn Process<T>>>,
}

impl RecorderCollector<Frame> {
    /// Collect the `pred` frames of `experiment`'s finished records.
    pub fn new(store: Arc<dyn RecordStore>, experiment: impl Into<String>) -> Self {
        RecorderCollector::with_loader(store, experiment, |_, _, bytes| Frame::decode(&bytes))
    }
}

impl<T: Send + 'static> RecorderCollector<T> {
    /// Collect artifacts turned into values by `load(record, artifact name, bytes)`.
    pub fn with_loader(
        store: Arc<dyn RecordStore>,
        experiment: impl Into<String>,
        load: impl Fn(&Record, &str, Vec<u8>) -> Result<T> + Send + Sync + 'static,
    ) -> Self {
        RecorderCollector {
            store,
            experiment: experiment.into(),
            filter: RecordFilter::all().status([RecordStatus::Finished]),
            rec_filter: None,
            key_fn: Box::new(|r: &Record| Ok(Key::from(r.id.to_string()))),
            artifacts: vec!["pred".to_string()],
            only_exist: true,
            duplicates: DuplicateRule::default(),
            load: Box::new(load),
            process_list: Vec::new(),
        }
    }

    /// The experiment's name (Qlib's `get_exp_name`).
    pub fn experiment(&self) -> &str {
        &self.experiment
    }

    /// Only records in one of `statuses` (default: `finished`).
    pub fn status(mut self, statuses: impl IntoIterator<Item = RecordStatus>) -> Self {
        self.filter.status = Some(statuses.into_iter().collect());
        self
    }

    /// Records in any status.
    pub fn any_status(mut self) -> Self {
        self.filter.status = None;
        self
    }

    /// Only records having tag `name` = `value` (checked by the store).
    pub fn tag(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.filter = self.filter.tag(name, value);
        self
    }

    /// Only records for which `f` is true (Qlib's `rec_filter_func`).
    pub fn rec_filter(mut self, f: impl Fn(&Record) -> bool + Send + Sync + 'static) -> Self {
        self.rec_filter = Some(Box::new(f));
        self
    }

    /// The key of a record's values (Qlib's `rec_key_func`; default: its id).
    pub fn key_fn(mut self, f: impl Fn(&Record) -> Result<Key> + Send + Sync + 'static) -> Self {
        self.key_fn = Box::new(f);
        self
    }

    /// The artifacts to collect (default: `pred`).
    pub fn artifacts(mut self, names: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.artifacts = names.into_iter().map(Into::into).collect();
        self
    }

    /// Whether a missing artifact is skipped with a warning (true, default)
    /// or is a `NotFound` error.
    pub fn only_exist(mut self, only_exist: bool) -> Self {
        self.only_exist = only_exist;
        self
    }

    /// The duplicate-key rule (default [`DuplicateRule::Newest`]).
    pub fn duplicates(mut self, rule: DuplicateRule) -> Self {
        self.duplicates = rule;
        self
    }

    /// Append a step to the process list.
    pub fn process(mut self, step: impl Process<T> + 'static) -> Self {
        self.process_list.push(Box::new(step));
        self
    }

    /// The records to collect from, each with its key, winners only, in
    /// creation order.
    async fn winners(&self) -> Result<Vec<(Key, Record)>> {
        let mut records = self
            .store
            .list_records(&self.experiment, &self.filter)
            .await?;
        if let Some(f) = &self.rec_filter {
            records.retain(|r| f(r));
        }
        let mut by_status: BTreeMap<RecordStatus, usize> = BTreeMap::new();
        for r in &records {
            *by_status.entry(r.status).or_default() += 1;
        }
        tracing::info!(experiment = %self.experiment, ?by_status, "collecting records");
        records.sort_by_key(|r| (r.created_at, r.id));
        let keyed = records
            .into_iter()
            .map(|r| Ok(((self.key_fn)(&r)?, r)))
            .collect::<Result<Vec<_>>>()?;
        let mut winner: HashMap<&Key, usize> = HashMap::new();
        for (i, (key, record)) in keyed.iter().enumerate() {
            let Some(&prev) = winner.get(key) else {
                winner.insert(key, i);
                continue;
            };
            let prev_id = keyed[prev].1.id;
            let (kept, dropped) = match self.duplicates {
                DuplicateRule::Newest => (record.id, prev_id),
                DuplicateRule::Oldest => (prev_id, record.id),
                DuplicateRule::Error => {
                    return Err(Error::new(
                        ErrorKind::AlreadyExists,
                        format!(
                            "records {prev_id} and {} of experiment {:?} have the same key {key}",
                            record.id, self.experiment
                        ),
                    ));
                }
            };
            tracing::warn!(%key, %kept, %dropped, "duplicate record key");
            if self.duplicates == DuplicateRule::Newest {
                winner.insert(key, i);
            }
        }
        let mut keep: Vec<usize> = winner.into_values().collect();
        keep.sort_unstable();
        let mut keyed: Vec<Option<(Key, Record)>> = keyed.into_iter().map(Some).collect();
        Ok(keep
            .into_iter()
            .map(|i| keyed[i].take().expect("each index once"))
            .collect())
    }
}

#[async_trait]
impl<T: Send + 'static> Collector<T> for RecorderCollector<T> {
    async fn collect(&self) -> Result<Collection<T>> {
        for name in &self.artifacts {
            validate_artifact_name(name)?;
        }
        let winners = self.winners().await?;
        let mut out: Collection<T> = IndexMap::new();
        for name in &self.artifacts {
            let mut values: Collection<T> = IndexMap::new();
            for (key, record) in &winners {
                let bytes = match self
                    .store
                    .get_artifact(&self.experiment, record.id, name)
                    .await
                {
                    Ok(bytes) => bytes,
                    Err(e) if e.kind() == ErrorKind::NotFound && self.only_exist => {
                        tracing::warn!(record = %record.id, artifact = %name, "artifact missing, skipped");
                        continue;
                    }
                    Err(e) => return Err(e),
                };
                values.insert(key.clone(), Node::Leaf((self.load)(record, name, bytes)?));
            }
            out.insert(Key::from(name.as_str()), Node::Map(values));
        }
        Ok(out)
    }

    fn process_list(&self) -> &[Box<dyn Process<T>>] {
        &self.process_list
    }
}
