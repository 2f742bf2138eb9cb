//! The [`Collector`] and [`Process`] traits.

use async_trait::async_trait;
use task_store::Result;

use super::{Collection, Node};

/// One step applied to a collected value: a group, an ensemble, or any
/// closure `Fn(Node<T>) -> Result<Node<T>>`.
pub trait Process<T>: Send + Sync {
    /// Turn `input` into the step's output.
    ///
    /// # Errors
    /// Whatever the step reports (`InvalidInput` for a value of the wrong shape).
    fn process(&self, input: Node<T>) -> Result<Node<T>>;
}

impl<T, F> Process<T> for F
where
    F: Fn(Node<T>) -> Result<Node<T>> + Send + Sync,
{
    fn process(&self, input: Node<T>) -> Result<Node<T>> {
        self(input)
    }
}

/// Run `process_list` on every top-level value of `collected`, in order
/// (Qlib's `Collector.process_collect`); keys and their order are kept.
///
/// # Errors
/// The first error of a step; nothing else is processed after it.
pub fn process_collect<T>(
    collected: Collection<T>,
    process_list: &[Box<dyn Process<T>>],
) -> Result<Collection<T>> {
    collected
        .into_iter()
        .map(|(key, mut value)| {
            for step in process_list {
                value = step.process(value)?;
            }
            Ok((key, value))
        })
        .collect()
}

/// Gathers results into a [`Collection`] and post-processes them.
#[async_trait]
pub trait Collector<T: Send + 'static>: Send + Sync {
    /// Gather the raw collection.
    ///
    /// # Errors
    /// Store errors, or whatever the collector reports for bad data.
    async fn collect(&self) -> Result<Collection<T>>;

    /// The steps [`call`](Collector::call) runs on every top-level value.
    fn process_list(&self) -> &[Box<dyn Process<T>>];

    /// Collect, then run the process list on every top-level value.
    ///
    /// # Errors
    /// As [`collect`](Collector::collect) and the steps.
    async fn call(&self) -> Result<Collection<T>> {
        process_collect(self.collect().await?, self.process_list())
    }
}

#[cfg(test)]
mod tests {
    use task_store::{Error, ErrorKind};

    use super::*;
    use crate::collect::Key;

    fn double(n: Node<i32>) -> Result<Node<i32>> {
        Ok(Node::Leaf(n.into_leaf()? * 2))
    }

    #[test]
    fn process_collect_applies_steps_in_order_to_each_value() {
        let collected: Collection<i32> = [
            (Key::from("a"), Node::Leaf(1)),
            (Key::from("b"), Node::Leaf(5)),
        ]
        .into_iter()
        .collect();
        let plus_one = |n: Node<i32>| -> Result<Node<i32>> { Ok(Node::Leaf(n.into_leaf()? + 1)) };
        let steps: Vec<Box<dyn Process<i32>>> = vec![Box::new(double), Box::new(plus_one)];
        let out = process_collect(collected, &steps).unwrap();
        assert_eq!(
            out.into_iter().collect::<Vec<_>>(),
            [
                (Key::from("a"), Node::Leaf(3)),
                (Key::from("b"), Node::Leaf(11))
            ]
        );
    }

    #[test]
    fn process_collect_stops_at_the_first_error() {
        let collected: Collection<i32> = [(Key::from("a"), Node::Leaf(1))].into_iter().collect();
        let fail = |_: Node<i32>| -> Result<Node<i32>> { Err(Error::invalid_input("no")) };
        let steps: Vec<Box<dyn Process<i32>>> = vec![Box::new(fail)];
        assert_eq!(
            process_collect(collected, &steps).unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
    }
}
