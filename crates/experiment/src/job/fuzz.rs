//! Fuzzing the run configuration reader ([`JobConfig::from_yaml`]) with
//! property tests in the shape of the query parser's (see
//! `task_store::fuzz`): arbitrary text, configurations built from the
//! schema's keys with good and bad values, and the example configurations
//! with random byte edits.
//!
//! Whatever the input, reading never panics and every refusal is
//! [`JobError::Syntax`] or [`JobError::Config`] with a one-line message. An
//! accepted configuration is usable: [`JobPlan::new`] checks it (refusing
//! only with `Config`), and a plan generates its tasks over a calendar
//! ([`JobPlan::tasks`], refusing only with `Config`).
//!
//! `TASKPOOL_FUZZ_CASES` sets the inputs per property and
//! `TASKPOOL_PROPTEST_SEED` replays a run.

use std::sync::atomic::{AtomicU32, Ordering};

use proptest::option;
use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::TestCaseError;
use serde_json::{Map, Value, json};
use task_store::fuzz::{json_scalar, mutated, one_line, runner};
use taskpool_pipeline::calendar::Calendar;

use super::{JobConfig, JobError, JobPlan};

/// The example configurations.
const CONFIGS: &[&str] = &[
    include_str!("../../../../examples/rolling.yaml"),
    include_str!("../../../../examples/rolling_python.yaml"),
    include_str!("../../../../examples/run/sweep.yaml"),
];

/// `Syntax` and `Config` are the refusals of a configuration; anything
/// else (or a message on several lines) fails the property.
fn refusal(e: &JobError) -> Result<(), TestCaseError> {
    match e {
        JobError::Syntax(_) | JobError::Config { .. } => one_line(&e.to_string()),
        other => Err(TestCaseError::fail(format!(
            "not a configuration error: {other:?}"
        ))),
    }
}

/// How far inputs got: read, planned, generated tasks.
#[derive(Default)]
struct Reached([AtomicU32; 3]);

impl Reached {
    fn count(&self, stage: usize) {
        self.0[stage].fetch_add(1, Ordering::Relaxed);
    }

    /// Print the counts (shown with `--nocapture`).
    fn report(&self, name: &str) {
        let [read, planned, generated] = self.0.each_ref().map(|n| n.load(Ordering::Relaxed));
        eprintln!("{name}: {read} read, {planned} planned, {generated} generated tasks");
    }
}

/// Read, plan and generate, as `taskpool run` does before it opens a store.
fn check(
    text: &str,
    dir: &std::path::Path,
    calendar: &Calendar,
    reached: &Reached,
) -> Result<(), TestCaseError> {
    let config = match JobConfig::from_yaml(text) {
        Ok(config) => config,
        Err(e) => return refusal(&e),
    };
    reached.count(0);
    let plan = match JobPlan::new(&config, Some(dir)) {
        Ok(plan) => plan,
        Err(e) => return refusal(&e),
    };
    reached.count(1);
    match plan.tasks(calendar) {
        Ok(planned) if planned.tasks.iter().all(Value::is_object) => {
            reached.count(2);
            Ok(())
        }
        Ok(planned) => Err(TestCaseError::fail(format!(
            "generated a task that is not an object: {:?}",
            planned.tasks.iter().find(|t| !t.is_object())
        ))),
        Err(e) => refusal(&e),
    }
}

/// `good` most of the time, else any scalar (a wrong type or value).
fn or_junk<S: Strategy<Value = Value>>(good: S) -> impl Strategy<Value = Value> {
    prop_oneof![60 => good, 1 => json_scalar(10)]
}

/// One of `good` most of the time, one of `bad` some of the time, now and
/// then any scalar. Every field has a few ways to be wrong, so a built
/// configuration holds about one mistake on average and many are accepted.
///
/// Strategies here are boxed: a debug build's value tree of the whole
/// configuration, unboxed, overflows a test thread's 2 MiB stack.
fn pick(good: Vec<Value>, bad: Vec<Value>) -> BoxedStrategy<Value> {
    or_junk(prop_oneof![30 => select(good), 1 => select(bad)]).boxed()
}

fn date() -> BoxedStrategy<Value> {
    pick(
        vec![
            Value::Null,
            json!("2019-01-01"),
            json!("2020-06-30"),
            json!("2020-07-01"),
            json!("2020-12-31"),
            json!("2021-01-01"),
            json!("2021-06-30"),
            json!("2023-01-01"),
            json!("2020-01-01 00:00:00"),
        ],
        vec![json!("2020-02-30"), json!("2020-13")],
    )
    .boxed()
}

fn segment() -> BoxedStrategy<Value> {
    let bounds = prop_oneof![
        40 => prop::collection::vec(date(), 2..=2),
        1 => prop::collection::vec(date(), 0..4),
    ];
    or_junk(bounds.prop_map(Value::Array)).boxed()
}

/// Model `i` (names are unique unless a bad value repeats one); a
/// `command` model comes with its command.
fn model(i: usize) -> BoxedStrategy<Value> {
    (
        pick(vec![json!(format!("m{i}"))], vec![json!("bad name!"), json!(""), json!("m0")]),
        prop::bool::weighted(0.2),
        option::of(pick(
            vec![json!({"alpha": 1.0}), json!({"alpha": 100}), json!({})],
            vec![json!({"alpha": -1}), json!({"alpha": "x"}), json!({"beta": 2})],
        )),
        prop_oneof![
            30 => Just(None),
            1 => pick(vec![json!("lgb")], vec![json!("command")]).prop_map(Some),
        ],
        prop_oneof![
            30 => Just(None),
            1 => pick(vec![json!(["python3", "m.py"])], vec![json!([]), json!("sh")]).prop_map(Some),
        ],
    )
        .prop_map(|(name, command_class, kwargs, other_class, command)| {
            let mut m = Map::new();
            m.insert("name".into(), name);
            let (class, default_command) = if command_class {
                (json!("command"), Some(json!(["python3", "m.py"])))
            } else {
                (json!("ridge"), None)
            };
            m.insert("class".into(), other_class.unwrap_or(class));
            if let Some(kwargs) = kwargs {
                m.insert("kwargs".into(), kwargs);
            }
            if let Some(command) = command.or(default_command) {
                m.insert("command".into(), command);
            }
            Value::Object(m)
        })
    .boxed()
}

fn models() -> BoxedStrategy<Value> {
    let list = prop_oneof![
        1 => Just(Vec::new()).boxed(),
        10 => model(0).prop_map(|m| vec![m]).boxed(),
        5 => (model(0), model(1)).prop_map(|(a, b)| vec![a, b]).boxed(),
        2 => (model(0), model(1), model(2)).prop_map(|(a, b, c)| vec![a, b, c]).boxed(),
    ];
    or_junk(list.prop_map(Value::Array)).boxed()
}

/// Segments in order (train, valid, test) with a few choices of bounds,
/// or built from any dates.
fn segments() -> BoxedStrategy<Value> {
    let ordered = (
        select(vec![json!(null), json!("2019-01-01")]),
        select(vec![json!("2020-06-30"), json!("2020-03-31")]),
        select(vec![json!("2021-01-01"), json!("2021-06-30")]),
        select(vec![json!(null), json!("2021-12-31")]),
    )
        .prop_map(|(train_start, train_end, test_start, test_end)| {
            json!({
                "train": [train_start, train_end],
                "valid": ["2020-07-01", "2020-12-31"],
                "test": [test_start, test_end],
            })
        });
    let any_dates = (segment(), segment(), segment())
        .prop_map(|(train, valid, test)| json!({"train": train, "valid": valid, "test": test}));
    or_junk(prop_oneof![10 => ordered, 3 => any_dates]).boxed()
}

fn rolling() -> BoxedStrategy<Value> {
    (
        pick(
            vec![
                json!(40),
                json!(5),
                json!("60d"),
                json!("2w"),
                json!("3m"),
                json!(250),
            ],
            vec![json!(0), json!("0m"), json!("x"), json!(-3), json!(1.5)],
        ),
        pick(
            vec![json!("expanding"), json!("sliding")],
            vec![json!("rolling")],
        ),
        option::of(pick(vec![json!(0), json!(2), json!(500)], vec![json!(-1)])),
        option::of(pick(vec![json!(1), json!(60)], vec![json!(0)])),
    )
        .prop_map(|(step, rtype, trunc_days, test_len)| {
            let mut r = Map::new();
            r.insert("step".into(), step);
            r.insert("type".into(), rtype);
            if let Some(t) = trunc_days {
                r.insert("trunc_days".into(), t);
            }
            if let Some(t) = test_len {
                r.insert("test_len".into(), t);
            }
            Value::Object(r)
        })
        .boxed()
}

fn sweep() -> BoxedStrategy<Value> {
    let path = prop_oneof![
        10 => Just("model.kwargs.alpha"),
        1 => select(vec!["model.kwargs.beta", "alpha", "model.", ""]),
    ];
    let value = pick(vec![json!(0.1), json!(10)], vec![json!(-1), json!("x")]);
    let values = or_junk(prop::collection::vec(value, 0..4).prop_map(Value::Array));
    prop::collection::vec((path, values), 0..3)
        .prop_map(|entries| {
            Value::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v))
                    .collect(),
            )
        })
        .boxed()
}

fn trainer() -> BoxedStrategy<Value> {
    (
        pick(vec![json!("workers"), json!("in_process")], vec![json!("threads")]),
        pick(vec![json!(1), json!(2)], vec![json!(0)]),
        pick(
            vec![json!("30s"), json!("2m")],
            vec![json!("1ms"), json!("0s"), json!("5"), json!("99999999999999999999h")],
        ),
        pick(vec![json!(1), json!(3)], vec![json!(0)]),
    )
        .prop_map(|(mode, workers, lease, max_attempts)| {
            json!({"mode": mode, "workers": workers, "lease": lease, "max_attempts": max_attempts})
        })
    .boxed()
}

/// A configuration built from the schema's keys; optional sections come and
/// go, and now and then an unknown key is added.
fn config() -> impl Strategy<Value = Value> {
    let data = option::of(pick(
        vec![
            json!({"synthetic": {"instruments": 20, "days": 300, "start": "2019-01-01", "seed": 7}}),
        ],
        vec![
            json!({"synthetic": {"instruments": 1}}),
            json!({"synthetic": {"days": 10}}),
            json!({"synthetic": {"seed": 18446744073709551615u64}}),
            json!({"file": "missing.csv"}),
            json!({"file": "missing.csv", "synthetic": {}}),
        ],
    ));
    (
        (
            option::of(pick(
                vec![json!("rolling")],
                vec![json!("bad pool!"), json!(".x"), json!("")],
            )),
            option::weighted(0.2, pick(vec![json!("exp")], vec![json!("system.x")])),
            data,
            models(),
            segments(),
        ),
        (
            option::of(rolling()),
            option::weighted(0.3, sweep()),
            option::of(trainer()),
            option::weighted(
                0.2,
                pick(
                    vec![json!({"ensemble": "none"})],
                    vec![json!({"ensemble": "mean"})],
                ),
            ),
            option::weighted(0.05, (".{1,8}", json_scalar(10))),
        ),
    )
        .prop_map(
            |(
                (pool, experiment, data, models, segments),
                (rolling, sweep, trainer, collect, extra),
            )| {
                let mut c = Map::new();
                for (key, value) in [
                    ("pool", pool),
                    ("experiment", experiment),
                    ("data", data),
                    ("models", Some(models)),
                    ("segments", Some(segments)),
                    ("rolling", rolling),
                    ("sweep", sweep),
                    ("trainer", trainer),
                    ("collect", collect),
                ] {
                    if let Some(value) = value {
                        c.insert(key.to_string(), value);
                    }
                }
                if let Some((key, value)) = extra {
                    c.insert(key, value);
                }
                Value::Object(c)
            },
        )
}

/// The weekdays of the synthetic dataset's default span (about three years).
fn calendar() -> Calendar {
    Calendar::weekdays(
        jiff::civil::date(2019, 1, 1),
        jiff::civil::date(2021, 12, 31),
        [],
    )
    .expect("a calendar")
}

#[test]
fn run_config_never_panics_on_arbitrary_text() {
    let (dir, calendar, reached) = (tempfile::tempdir().unwrap(), calendar(), Reached::default());
    runner("run config: arbitrary text")
        .run(&any::<String>(), |text| {
            check(&text, dir.path(), &calendar, &reached)
        })
        .unwrap();
    reached.report("run config: arbitrary text");
}

#[test]
fn run_config_never_panics_on_built_configs() {
    let (dir, calendar, reached) = (tempfile::tempdir().unwrap(), calendar(), Reached::default());
    runner("run config: built configurations")
        .run(&config(), |value| {
            // JSON text is YAML too.
            check(&value.to_string(), dir.path(), &calendar, &reached)
        })
        .unwrap();
    reached.report("run config: built configurations");
}

#[test]
fn run_config_never_panics_on_mutated_configs() {
    let (dir, calendar, reached) = (tempfile::tempdir().unwrap(), calendar(), Reached::default());
    for text in CONFIGS {
        let config = JobConfig::from_yaml(text).expect("the seeds are valid configurations");
        JobPlan::new(&config, Some(dir.path())).expect("the seeds plan");
    }
    runner("run config: mutated configurations")
        .run(&mutated(CONFIGS), |text| {
            check(&text, dir.path(), &calendar, &reached)
        })
        .unwrap();
    reached.report("run config: mutated configurations");
}
