//! [`Key`]: a tuple of strings naming a collected value.

use std::fmt;

/// A key of a [`Collection`](super::Collection): a tuple of strings, such as
/// `("LGBModel", "2017-01-03")`. A one-part key stands for a plain string key.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key(Vec<String>);

impl Key {
    /// A key from its parts.
    pub fn new(parts: impl IntoIterator<Item = impl Into<String>>) -> Key {
        Key(parts.into_iter().map(Into::into).collect())
    }

    /// The empty tuple `()`.
    pub fn empty() -> Key {
        Key(Vec::new())
    }

    /// The parts, in order.
    pub fn parts(&self) -> &[String] {
        &self.0
    }

    /// The number of parts.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the key has no parts.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `(all parts but the last, the last part)`; `None` for the empty key.
    pub fn split_last(&self) -> Option<(Key, &str)> {
        let (last, init) = self.0.split_last()?;
        Some((Key(init.to_vec()), last.as_str()))
    }

    /// This key's parts followed by `other`'s.
    pub fn join(&self, other: &Key) -> Key {
        Key(self.0.iter().chain(&other.0).cloned().collect())
    }
}

impl From<&str> for Key {
    fn from(s: &str) -> Key {
        Key(vec![s.to_string()])
    }
}

impl From<String> for Key {
    fn from(s: String) -> Key {
        Key(vec![s])
    }
}

impl<const N: usize> From<[&str; N]> for Key {
    fn from(parts: [&str; N]) -> Key {
        Key::new(parts)
    }
}

impl fmt::Display for Key {
    /// `part` for a one-part key, `(a, b)` otherwise.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.as_slice() {
            [one] => f.write_str(one),
            parts => write!(f, "({})", parts.join(", ")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_last_and_join() {
        let k = Key::from(["LGB", "r1"]);
        let (init, last) = k.split_last().unwrap();
        assert_eq!((init.clone(), last), (Key::from("LGB"), "r1"));
        assert_eq!(init.join(&Key::from(last)), k);
        assert_eq!(Key::from("a").split_last().unwrap().0, Key::empty());
        assert!(Key::empty().split_last().is_none());
    }

    #[test]
    fn display_forms() {
        assert_eq!(Key::from("pred").to_string(), "pred");
        assert_eq!(Key::from(["a", "b"]).to_string(), "(a, b)");
        assert_eq!(Key::empty().to_string(), "()");
    }
}
