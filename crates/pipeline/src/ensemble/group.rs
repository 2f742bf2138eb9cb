//! [`Group`] and [`RollingGroup`]: split a collection into groups and
//! reduce each group with an ensemble.

use indexmap::IndexMap;
use task_store::{Error, Result};

use super::RollingEnsemble;
use crate::collect::{Collection, Key, Node, Process};
use crate::frame::Frame;

type GroupFn<T> = Box<dyn Fn(Collection<T>) -> Result<IndexMap<Key, Collection<T>>> + Send + Sync>;

/// Groups a collection with a function, then reduces every group with an
/// ensemble (Qlib's `Group`): `{group key: ens(group)}`, groups in the order
/// the grouping function returns them. Groups are reduced one after the
/// other (Qlib's `n_jobs` is not reproduced; frames reduce in milliseconds).
pub struct Group<T> {
    group_fn: GroupFn<T>,
    ens: Box<dyn Process<T>>,
}

impl<T> Group<T> {
    /// A group from a grouping function and an ensemble.
    pub fn new(
        group_fn: impl Fn(Collection<T>) -> Result<IndexMap<Key, Collection<T>>> + Send + Sync + 'static,
        ens: impl Process<T> + 'static,
    ) -> Self {
        Group {
            group_fn: Box::new(group_fn),
            ens: Box::new(ens),
        }
    }

    /// Split `ungrouped` into groups.
    ///
    /// # Errors
    /// Whatever the grouping function reports.
    pub fn group(&self, ungrouped: Collection<T>) -> Result<IndexMap<Key, Collection<T>>> {
        (self.group_fn)(ungrouped)
    }

    /// Reduce one group with the ensemble.
    ///
    /// # Errors
    /// Whatever the ensemble reports.
    pub fn reduce(&self, group: Collection<T>) -> Result<Node<T>> {
        self.ens.process(Node::Map(group))
    }

    /// Group, then reduce every group.
    ///
    /// # Errors
    /// The first error of the grouping or of a reduction.
    pub fn call(&self, ungrouped: Collection<T>) -> Result<Collection<T>> {
        self.group(ungrouped)?
            .into_iter()
            .map(|(k, group)| Ok((k, self.reduce(group)?)))
            .collect()
    }
}

impl<T> Process<T> for Group<T> {
    /// # Errors
    /// `InvalidInput` if `input` is a single value, not a collection.
    fn process(&self, input: Node<T>) -> Result<Node<T>> {
        Ok(Node::Map(self.call(input.into_map()?)?))
    }
}

/// Qlib's `RollingGroup.group`: `{k[..-1]: {k[-1]: v}}`, groups in order of
/// first appearance, entries in input order. A one-part key groups under the
/// empty key `()`.
///
/// Qlib's docstring says non-tuple keys are left alone while its code raises
/// (reference §9 B17). Keys here are always tuples; the empty key, which has
/// no last part to roll over, is rejected.
///
/// # Errors
/// `InvalidInput` for an empty key.
pub fn group_by_all_but_last<T>(ungrouped: Collection<T>) -> Result<IndexMap<Key, Collection<T>>> {
    let mut out: IndexMap<Key, Collection<T>> = IndexMap::new();
    for (key, value) in ungrouped {
        let (init, last) = key.split_last().ok_or_else(|| {
            Error::invalid_input(
                "RollingGroup needs keys with at least one part (the rolling key); found ()",
            )
        })?;
        out.entry(init).or_default().insert(Key::from(last), value);
    }
    Ok(out)
}

/// Groups by all key parts but the last (the rolling window, e.g. the test
/// segment) and reduces each group, by default with [`RollingEnsemble`]
/// (Qlib's `RollingGroup`): `{("LGB", "r1"): A, ("LGB", "r2"): B,
/// ("XGB", "r1"): C}` → `{("LGB",): rolling(A, B), ("XGB",): rolling(C)}`.
pub struct RollingGroup<T = Frame>(Group<T>);

impl RollingGroup<Frame> {
    /// Group by all but the last key part and concatenate each group's
    /// windows with [`RollingEnsemble`].
    pub fn new() -> Self {
        RollingGroup::with_ensemble(RollingEnsemble)
    }
}

impl Default for RollingGroup<Frame> {
    fn default() -> Self {
        RollingGroup::new()
    }
}

impl<T: 'static> RollingGroup<T> {
    /// Group by all but the last key part and reduce each group with `ens`.
    pub fn with_ensemble(ens: impl Process<T> + 'static) -> Self {
        RollingGroup(Group::new(group_by_all_but_last, ens))
    }

    /// Group, then reduce every group (see [`Group::call`]).
    ///
    /// # Errors
    /// `InvalidInput` for an empty key; whatever the ensemble reports.
    pub fn call(&self, ungrouped: Collection<T>) -> Result<Collection<T>> {
        self.0.call(ungrouped)
    }
}

impl<T> Process<T> for RollingGroup<T> {
    fn process(&self, input: Node<T>) -> Result<Node<T>> {
        self.0.process(input)
    }
}

#[cfg(test)]
mod tests {
    use task_store::ErrorKind;

    use super::*;

    fn collection(entries: Vec<(Key, i32)>) -> Collection<i32> {
        entries
            .into_iter()
            .map(|(k, v)| (k, Node::Leaf(v)))
            .collect()
    }

    fn sum(node: Node<i32>) -> Result<Node<i32>> {
        let total = node.flatten().into_iter().map(|(_, v)| v).sum();
        Ok(Node::Leaf(total))
    }

    #[test]
    fn group_by_all_but_last_nests_by_the_last_part() {
        let input = collection(vec![
            (Key::from(["LGB", "r1"]), 1),
            (Key::from(["XGB", "r1"]), 2),
            (Key::from(["LGB", "r2"]), 3),
            (Key::from("solo"), 4),
        ]);
        let got = group_by_all_but_last(input).unwrap();
        let keys: Vec<_> = got.keys().cloned().collect();
        assert_eq!(keys, [Key::from("LGB"), Key::from("XGB"), Key::empty()]);
        assert_eq!(
            got[&Key::from("LGB")],
            collection(vec![(Key::from("r1"), 1), (Key::from("r2"), 3)])
        );
        assert_eq!(got[&Key::empty()], collection(vec![(Key::from("solo"), 4)]));
    }

    #[test]
    fn group_by_all_but_last_rejects_the_empty_key() {
        let input = collection(vec![(Key::empty(), 1)]);
        assert_eq!(
            group_by_all_but_last(input).unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
    }

    #[test]
    fn rolling_group_reduces_each_group() {
        let input = collection(vec![
            (Key::from(["LGB", "r1"]), 1),
            (Key::from(["XGB", "r1"]), 2),
            (Key::from(["LGB", "r2"]), 3),
        ]);
        let got = RollingGroup::with_ensemble(sum).call(input).unwrap();
        assert_eq!(
            got,
            collection(vec![(Key::from("LGB"), 4), (Key::from("XGB"), 2)])
        );
    }

    #[test]
    fn group_process_rejects_a_single_value() {
        let g = Group::new(group_by_all_but_last, sum);
        assert_eq!(
            g.process(Node::Leaf(1)).unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
    }
}
