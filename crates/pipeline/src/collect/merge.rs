//! [`MergeCollector`]: several collectors as one.

use async_trait::async_trait;
use indexmap::IndexMap;
use task_store::Result;

use super::{Collection, Collector, Key, Process};

type MergeFn = Box<dyn Fn(&str, &Key) -> Key + Send + Sync>;

/// Runs child collectors (collect and process each) and merges their
/// results (Qlib's `MergeCollector`).
///
/// Each child's key `k` becomes `merge(child name, k)`, by default the child
/// name followed by the parts of `k` (`("LGB_strategy", "pred")`). Children
/// run in the order given; a later duplicate key replaces the earlier value
/// and keeps its position.
pub struct MergeCollector<T> {
    children: Vec<(String, Box<dyn Collector<T>>)>,
    merge: Option<MergeFn>,
    process_list: Vec<Box<dyn Process<T>>>,
}

impl<T: Send + 'static> MergeCollector<T> {
    /// Merge named child collectors.
    pub fn new(children: impl IntoIterator<Item = (String, Box<dyn Collector<T>>)>) -> Self {
        MergeCollector {
            children: children.into_iter().collect(),
            merge: None,
            process_list: Vec::new(),
        }
    }

    /// Build merged keys with `f(child name, child key)` (Qlib's `merge_func`).
    pub fn merge_fn(mut self, f: impl Fn(&str, &Key) -> Key + Send + Sync + 'static) -> Self {
        self.merge = Some(Box::new(f));
        self
    }

    /// Append a step to the process list.
    pub fn process(mut self, step: impl Process<T> + 'static) -> Self {
        self.process_list.push(Box::new(step));
        self
    }
}

#[async_trait]
impl<T: Send + 'static> Collector<T> for MergeCollector<T> {
    async fn collect(&self) -> Result<Collection<T>> {
        let mut out = IndexMap::new();
        for (name, child) in &self.children {
            for (k, v) in child.call().await? {
                let key = match &self.merge {
                    Some(f) => f(name, &k),
                    None => Key::from(name.as_str()).join(&k),
                };
                out.insert(key, v);
            }
        }
        Ok(out)
    }

    fn process_list(&self) -> &[Box<dyn Process<T>>] {
        &self.process_list
    }
}
