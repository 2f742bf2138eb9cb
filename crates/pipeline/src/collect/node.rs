//! [`Node`] and [`Collection`]: nested, ordered maps of collected values.

use indexmap::IndexMap;
use task_store::{Error, Result};

use super::Key;

/// An ordered map of collected values (insertion order, like a Python dict:
/// re-inserting a key replaces its value and keeps its position).
pub type Collection<T> = IndexMap<Key, Node<T>>;

/// A collected value or a nested collection.
#[derive(Debug, Clone, PartialEq)]
pub enum Node<T> {
    /// A value (an artifact such as a prediction frame).
    Leaf(T),
    /// A nested collection.
    Map(Collection<T>),
}

impl<T> Node<T> {
    /// The value of a leaf.
    ///
    /// # Errors
    /// `InvalidInput` for a map.
    pub fn into_leaf(self) -> Result<T> {
        match self {
            Node::Leaf(v) => Ok(v),
            Node::Map(m) => Err(Error::invalid_input(format!(
                "expected a value, found a collection of {} entries",
                m.len()
            ))),
        }
    }

    /// The collection of a map.
    ///
    /// # Errors
    /// `InvalidInput` for a leaf.
    pub fn into_map(self) -> Result<Collection<T>> {
        match self {
            Node::Map(m) => Ok(m),
            Node::Leaf(_) => Err(Error::invalid_input(
                "expected a collection, found a single value",
            )),
        }
    }

    /// Every leaf with its path: nested keys are joined part by part (Qlib's
    /// `flatten_dict` with tuple keys). A leaf alone has the empty key.
    pub fn flatten(self) -> Vec<(Key, T)> {
        let mut out = Vec::new();
        flatten_into(&mut out, Key::empty(), self);
        out
    }
}

fn flatten_into<T>(out: &mut Vec<(Key, T)>, prefix: Key, node: Node<T>) {
    match node {
        Node::Leaf(v) => out.push((prefix, v)),
        Node::Map(m) => {
            for (k, v) in m {
                flatten_into(out, prefix.join(&k), v);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use task_store::ErrorKind;

    use super::*;

    #[test]
    fn flatten_joins_nested_keys_in_order() {
        let inner: Collection<i32> = [
            (Key::from("x"), Node::Leaf(1)),
            (Key::from(["y", "z"]), Node::Leaf(2)),
        ]
        .into_iter()
        .collect();
        let outer: Collection<i32> = [
            (Key::from("a"), Node::Map(inner)),
            (Key::from("b"), Node::Leaf(3)),
        ]
        .into_iter()
        .collect();
        assert_eq!(
            Node::Map(outer).flatten(),
            [
                (Key::from(["a", "x"]), 1),
                (Key::from(["a", "y", "z"]), 2),
                (Key::from("b"), 3)
            ]
        );
        assert_eq!(Node::Leaf(7).flatten(), [(Key::empty(), 7)]);
    }

    #[test]
    fn into_leaf_and_into_map_check_the_shape() {
        assert_eq!(
            Node::<i32>::Map(Collection::new())
                .into_leaf()
                .unwrap_err()
                .kind(),
            ErrorKind::InvalidInput
        );
        assert_eq!(
            Node::Leaf(1).into_map().unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
    }
}
