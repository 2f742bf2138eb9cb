//! Fuzzing the CLI's readers with property tests (the shape of the query
//! parser's, see `task_store::fuzz`): the task-file reader
//! ([`task_file::parse`], JSON array, JSON lines, YAML) and the `gen`
//! template reader ([`parse_template`]), each with arbitrary text, inputs
//! built from its vocabulary, and valid files with random byte edits.
//!
//! Whatever the input, the reader never panics and refuses with one line
//! (what the CLI prints, exit code 2). What it accepts is usable: task
//! definitions are checked and created in a [`MemoryStore`] (a refusal there
//! is `InvalidInput`, as `taskpool create` reports it), and templates roll
//! over a calendar with [`task_generator`] (a refusal there is a
//! [`GenError`](taskpool::pipeline::generate::GenError), never a panic).
//!
//! `TASKPOOL_FUZZ_CASES` sets the inputs per property and
//! `TASKPOOL_PROPTEST_SEED` replays a run.

use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::TestCaseError;
use serde_json::{Map, Value, json};
use task_store::fuzz::{json_scalar, mutated, one_line, runner};
use taskpool::pipeline::calendar::Calendar;
use taskpool::pipeline::generate::{RollingGen, Step, TaskGen, task_generator};
use taskpool::store::{CreateParams, ErrorKind, MemoryStore, TaskStore};

use super::r#gen::parse_template;
use super::task_file::{self, Format};

/// Valid task files, one per format.
const TASK_FILES: &[&str] = &[
    r#"[{"model": "lgb", "n": 1}, {"model": {"kwargs": {"alpha": 0.5}}, "tags": ["a", null]}]"#,
    "{\"model\": \"lgb\", \"n\": 1}\n\n{\"seed\": 9223372036854775807, \"s\": \"\\u00e9\"}\n",
    "- model: lgb\n  n: 1\n- model:\n    kwargs: {alpha: 0.5}\n  tags: [a, ~]\n",
];

/// Valid templates (the examples), with the extension that reads them.
const TEMPLATES: &[&str] = &[
    include_str!("../../../../examples/gen/template.yaml"),
    include_str!("../../../../examples/gen/template.json"),
];

const FORMATS: [Format; 3] = [Format::JsonArray, Format::JsonLines, Format::Yaml];

fn json_value() -> impl Strategy<Value = Value> {
    json_scalar(10).prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((".{0,6}", inner), 0..4)
                .prop_map(|entries| Value::Object(entries.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// A scalar nested 28 to 36 levels deep in arrays and objects, around the
/// stores' depth limit of 32.
fn deep_value() -> impl Strategy<Value = Value> {
    (
        json_scalar(10),
        prop::collection::vec(any::<bool>(), 28..37),
    )
        .prop_map(|(leaf, levels)| {
            levels.into_iter().fold(leaf, |inner, array| {
                if array {
                    Value::Array(vec![inner])
                } else {
                    json!({ "k": inner })
                }
            })
        })
}

/// A list of items (mostly objects) written in one of the formats, read as
/// one of the formats (usually the same).
fn task_file() -> impl Strategy<Value = (String, Format)> {
    let field = prop_oneof![8 => json_value(), 1 => deep_value()];
    let item = prop_oneof![
        6 => prop::collection::vec(("[a-z.$]{0,6}", field), 0..4)
            .prop_map(|entries| Value::Object(entries.into_iter().collect::<Map<_, _>>())),
        1 => json_value(),
    ];
    (
        prop::collection::vec(item, 0..5),
        select(FORMATS.to_vec()),
        prop::bool::weighted(0.1),
        select(FORMATS.to_vec()),
    )
        .prop_map(|(items, written, misread, other)| {
            let text = match written {
                Format::JsonArray => Value::Array(items).to_string(),
                Format::JsonLines => items.iter().map(|i| format!("{i}\n")).collect(),
                Format::Yaml => items.iter().map(|i| format!("- {i}\n")).collect(),
            };
            (text, if misread { other } else { written })
        })
}

/// What `taskpool create` does with what the reader accepted: the checks,
/// then the create, which must succeed unless the checks refused.
fn check_definitions(
    rt: &tokio::runtime::Runtime,
    outcome: Result<Vec<Value>, String>,
) -> Result<(), TestCaseError> {
    let defs = match outcome {
        Ok(defs) => defs,
        Err(message) => return one_line(&message),
    };
    if let Some(item) = defs.iter().find(|d| !d.is_object()) {
        return Err(TestCaseError::fail(format!("accepted a non-object {item}")));
    }
    let params = CreateParams::new(defs);
    match params.validate() {
        Ok(()) => {
            let store = MemoryStore::new();
            rt.block_on(store.create("fuzz", params)).map_err(|e| {
                TestCaseError::fail(format!("a checked file failed to create: {e}"))
            })?;
            Ok(())
        }
        Err(e) if e.kind() == ErrorKind::InvalidInput => one_line(&e.to_string()),
        Err(e) => Err(TestCaseError::fail(format!("{:?}: {e}", e.kind()))),
    }
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime")
}

#[test]
fn task_file_never_panics_on_arbitrary_text() {
    let rt = rt();
    runner("task file: arbitrary text")
        .run(
            &(any::<String>(), select(FORMATS.to_vec())),
            |(text, format)| check_definitions(&rt, task_file::parse(&text, format)),
        )
        .unwrap();
}

#[test]
fn task_file_never_panics_on_built_files() {
    let rt = rt();
    runner("task file: built files")
        .run(&task_file(), |(text, format)| {
            check_definitions(&rt, task_file::parse(&text, format))
        })
        .unwrap();
}

#[test]
fn task_file_never_panics_on_mutated_files() {
    for (text, format) in TASK_FILES.iter().zip(FORMATS) {
        task_file::parse(text, format).expect("the seeds are valid task files");
    }
    let rt = rt();
    runner("task file: mutated files")
        .run(&mutated(TASK_FILES), |text| {
            // Read in every format: the seed's own, and the others as a
            // mislabelled file would be.
            for format in FORMATS {
                check_definitions(&rt, task_file::parse(&text, format))?;
            }
            Ok(())
        })
        .unwrap();
}

/// Dates in, before and after the calendar, and some that are not dates.
const DATES: &[&str] = &[
    "2019-12-31",
    "2020-01-02",
    "2020-03-16",
    "2020-06-30",
    "2020-12-31",
    "2021-06-01",
    "2020-02-30",
    "2020-01-02 00:00:00",
    "20200102",
    "",
];

fn date() -> impl Strategy<Value = Value> {
    prop_oneof![
        8 => select(DATES).prop_map(|d| json!(d)),
        2 => Just(Value::Null),
        1 => json_scalar(10),
    ]
}

fn segments() -> impl Strategy<Value = Value> {
    let bounds = prop_oneof![
        8 => prop::collection::vec(date(), 2..=2).prop_map(Value::Array),
        1 => prop::collection::vec(date(), 0..4).prop_map(Value::Array),
        1 => date(),
    ];
    prop_oneof![
        10 => prop::collection::vec((select(vec!["train", "valid", "test", "other"]), bounds), 0..4)
            .prop_map(|entries| {
                Value::Object(entries.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
            }),
        1 => json_value(),
    ]
}

/// A Qlib-like template with random segments and handler times, sometimes
/// with a part replaced by something else.
fn template() -> impl Strategy<Value = Value> {
    prop_oneof![
        6 => one_template(),
        2 => prop::collection::vec(one_template(), 0..3).prop_map(Value::Array),
        1 => json_value(),
    ]
}

fn one_template() -> impl Strategy<Value = Value> {
    (
        segments(),
        date(),
        date(),
        prop::option::weighted(0.1, json_value()),
    )
        .prop_map(|(segments, start, end, junk)| {
            let mut task = json!({
                "model": {"class": "LGBModel", "kwargs": {"loss": "mse"}},
                "dataset": {"class": "DatasetH", "kwargs": {
                    "handler": {"class": "Alpha158", "kwargs": {"start_time": start, "end_time": end}},
                    "segments": segments,
                }},
            });
            if let Some(junk) = junk {
                task["dataset"]["kwargs"]["handler"] = junk;
            }
            task
        })
}

/// What `taskpool gen` does with an accepted template: roll it over a
/// calendar; refusals are generator errors, never panics.
fn check_template(
    calendar: &Calendar,
    outcome: Result<Vec<Value>, String>,
) -> Result<(), TestCaseError> {
    let templates = match outcome {
        Ok(templates) => templates,
        Err(message) => return one_line(&message),
    };
    if templates.is_empty() || templates.iter().any(|t| !t.is_object()) {
        return Err(TestCaseError::fail(format!("accepted {templates:?}")));
    }
    let rolling = RollingGen::default().step(Step::TradingDays(20));
    let generators: Vec<Box<dyn TaskGen>> = vec![Box::new(rolling)];
    if let Ok(tasks) = task_generator(templates, &generators, calendar)
        && let Some(task) = tasks.iter().find(|t| !t.is_object())
    {
        return Err(TestCaseError::fail(format!(
            "generated a non-object {task}"
        )));
    }
    Ok(())
}

fn calendar() -> Calendar {
    Calendar::weekdays(
        jiff::civil::date(2020, 1, 1),
        jiff::civil::date(2020, 12, 31),
        [],
    )
    .expect("a calendar")
}

const EXTENSIONS: &[Option<&str>] = &[Some("json"), Some("yaml"), Some("yml"), None];

#[test]
fn template_never_panics_on_arbitrary_text() {
    let calendar = calendar();
    runner("gen template: arbitrary text")
        .run(&(any::<String>(), select(EXTENSIONS)), |(text, ext)| {
            check_template(&calendar, parse_template("t", ext, &text))
        })
        .unwrap();
}

#[test]
fn template_never_panics_on_built_templates() {
    let calendar = calendar();
    let ext = select(vec!["json", "yaml"]);
    runner("gen template: built templates")
        .run(&(template(), ext), |(value, ext)| {
            // JSON text is YAML too.
            check_template(
                &calendar,
                parse_template("t", Some(ext), &value.to_string()),
            )
        })
        .unwrap();
}

#[test]
fn template_never_panics_on_mutated_templates() {
    let calendar = calendar();
    for (text, ext) in TEMPLATES.iter().zip(["yaml", "json"]) {
        parse_template("t", Some(ext), text).expect("the seeds are valid templates");
    }
    runner("gen template: mutated templates")
        .run(&mutated(TEMPLATES), |text| {
            check_template(&calendar, parse_template("t", Some("yaml"), &text))?;
            check_template(&calendar, parse_template("t", Some("json"), &text))
        })
        .unwrap();
}
