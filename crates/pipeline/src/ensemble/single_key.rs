//! [`SingleKeyEnsemble`]: unwrap one-entry collections.

use task_store::Result;

use crate::collect::{Node, Process};

/// Replaces every collection that has exactly one entry by that entry's
/// value (Qlib's `SingleKeyEnsemble`). With `recursion` (the default) nested
/// collections are unwrapped first, from the inside out. A leaf is returned
/// as is; an empty collection stays empty.
///
/// `{"a": {"b": 1}, "c": {"d": 2, "e": 3}}` → `{"a": 1, "c": {"d": 2, "e": 3}}`;
/// `{"only": {"x": 5}}` → `5`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SingleKeyEnsemble {
    /// Unwrap nested collections too.
    pub recursion: bool,
}

impl Default for SingleKeyEnsemble {
    fn default() -> Self {
        SingleKeyEnsemble { recursion: true }
    }
}

impl SingleKeyEnsemble {
    /// Unwrap `node` (never fails).
    pub fn apply<T>(&self, node: Node<T>) -> Node<T> {
        let Node::Map(map) = node else {
            return node;
        };
        let mut map = if self.recursion {
            map.into_iter().map(|(k, v)| (k, self.apply(v))).collect()
        } else {
            map
        };
        if map.len() == 1 {
            map.pop().expect("one entry").1
        } else {
            Node::Map(map)
        }
    }
}

impl<T> Process<T> for SingleKeyEnsemble {
    fn process(&self, input: Node<T>) -> Result<Node<T>> {
        Ok(self.apply(input))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::{Collection, Key};

    fn map(entries: Vec<(&str, Node<i32>)>) -> Node<i32> {
        Node::Map(
            entries
                .into_iter()
                .map(|(k, v)| (Key::from(k), v))
                .collect(),
        )
    }

    #[test]
    fn apply_unwraps_single_entry_maps_recursively() {
        let input = map(vec![
            ("a", map(vec![("b", Node::Leaf(1))])),
            ("c", map(vec![("d", Node::Leaf(2)), ("e", Node::Leaf(3))])),
        ]);
        let want = map(vec![
            ("a", Node::Leaf(1)),
            ("c", map(vec![("d", Node::Leaf(2)), ("e", Node::Leaf(3))])),
        ]);
        assert_eq!(SingleKeyEnsemble::default().apply(input), want);
        let only = map(vec![("only", map(vec![("x", Node::Leaf(5))]))]);
        assert_eq!(SingleKeyEnsemble::default().apply(only), Node::Leaf(5));
        let empty: Node<i32> = Node::Map(Collection::new());
        assert_eq!(SingleKeyEnsemble::default().apply(empty.clone()), empty);
        assert_eq!(
            SingleKeyEnsemble::default().apply(Node::Leaf(4)),
            Node::Leaf(4)
        );
    }

    #[test]
    fn apply_without_recursion_unwraps_the_top_only() {
        let inner = map(vec![("b", Node::Leaf(1))]);
        let input = map(vec![("a", inner.clone()), ("c", Node::Leaf(2))]);
        let flat = SingleKeyEnsemble { recursion: false };
        assert_eq!(flat.apply(input.clone()), input);
        assert_eq!(flat.apply(map(vec![("a", inner.clone())])), inner);
    }
}
