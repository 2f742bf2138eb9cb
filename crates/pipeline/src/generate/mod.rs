//! Task generation: turn one template into many task definitions
//! (reference §2).
//!
//! A task is a JSON document (Qlib's task dict); its segments live at
//! `dataset.kwargs.segments` as 2-element lists of `"YYYY-MM-DD"` or `null`.
//! A [`TaskGen`] maps one task to a list of tasks against a [`Calendar`]
//! passed at call time; [`task_generator`] chains generators as a cartesian
//! expansion.
//!
//! Generators: [`RollingGen`] (rolling test windows, sliding or expanding,
//! trading-day or calendar-period steps), [`MultiHorizonGen`] (one task per
//! label horizon), [`ParamSweep`] (cartesian product of values at JSON paths),
//! and any closure `Fn(&Value, &Calendar) -> Result<Vec<Value>, GenError>`.

mod error;
mod horizon;
mod path;
mod rolling;
mod segments;
mod sweep;
mod windows;

use std::borrow::Borrow;

use serde_json::Value;

use crate::calendar::Calendar;

pub use error::GenError;
pub use horizon::MultiHorizonGen;
pub use path::JsonPath;
pub use rolling::RollingGen;
pub use segments::SEGMENTS_PATH;
pub use sweep::ParamSweep;
pub use windows::{BadStep, Step};

/// Something that turns one task into a list of tasks (Qlib `TaskGen`).
///
/// Implemented by every closure `Fn(&Value, &Calendar) -> Result<Vec<Value>,
/// GenError>` ([`gen_fn`] helps type inference).
pub trait TaskGen {
    /// The tasks generated from `task`. `task` is never modified.
    ///
    /// # Errors
    /// A [`GenError`] naming the offending parameter, key or value.
    fn generate(&self, task: &Value, calendar: &Calendar) -> Result<Vec<Value>, GenError>;
}

impl<F> TaskGen for F
where
    F: Fn(&Value, &Calendar) -> Result<Vec<Value>, GenError>,
{
    fn generate(&self, task: &Value, calendar: &Calendar) -> Result<Vec<Value>, GenError> {
        self(task, calendar)
    }
}

/// Returns `f` unchanged; pins its signature so that a closure stored in a
/// variable is accepted as a [`TaskGen`].
pub fn gen_fn<F>(f: F) -> F
where
    F: Fn(&Value, &Calendar) -> Result<Vec<Value>, GenError>,
{
    f
}

/// Apply `generators` in order to `tasks` (Qlib `task_generator`, reference
/// §2.1): each generator replaces every task by its outputs, so with
/// templates `[a, b]`, a generator giving 2 outputs and then one giving 3, the
/// result is `[a1x, a1y, a1z, a2x, …, b2z]`: each input's children are
/// contiguous, in input order. No generators: the tasks come back unchanged.
///
/// `generators` may be `&[&dyn TaskGen]` or `&[Box<dyn TaskGen>]`.
///
/// # Errors
/// The first error of any generator.
pub fn task_generator<'g, G>(
    tasks: impl IntoIterator<Item = Value>,
    generators: &[G],
    calendar: &Calendar,
) -> Result<Vec<Value>, GenError>
where
    G: Borrow<dyn TaskGen + 'g>,
{
    let mut tasks: Vec<Value> = tasks.into_iter().collect();
    for generator in generators {
        let generator: &(dyn TaskGen + 'g) = generator.borrow();
        let mut next = Vec::with_capacity(tasks.len());
        for task in &tasks {
            next.extend(generator.generate(task, calendar)?);
        }
        tasks = next;
    }
    Ok(tasks)
}
