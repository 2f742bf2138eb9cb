//! `task_generator` (reference §2.1) and `ParamSweep`. Each test names the
//! rule it checks.

use serde_json::{Value, json};
use taskpool_pipeline::calendar::Calendar;
use taskpool_pipeline::generate::{
    GenError, ParamSweep, RollingGen, TaskGen, gen_fn, task_generator,
};

use crate::support::{dense_january, seg, template};

/// A generator that appends each of `suffixes` to the task's `name`.
fn suffixer(suffixes: &'static [&'static str]) -> impl TaskGen {
    gen_fn(move |task: &Value, _: &Calendar| {
        Ok(suffixes
            .iter()
            .map(|s| json!({"name": format!("{}{}", task["name"].as_str().unwrap(), s)}))
            .collect())
    })
}

fn names(tasks: &[Value]) -> Vec<&str> {
    tasks.iter().map(|t| t["name"].as_str().unwrap()).collect()
}

/// Rule (§2.1): sequential cartesian expansion; each input's children are
/// contiguous and in input order.
#[test]
fn task_generator_is_cartesian_and_order_preserving() {
    let a = suffixer(&["1", "2"]);
    let b = suffixer(&["x", "y", "z"]);
    let tasks = task_generator(
        [json!({"name": "a"}), json!({"name": "b"})],
        &[&a as &dyn TaskGen, &b],
        &dense_january(30),
    )
    .unwrap();
    assert_eq!(
        names(&tasks),
        [
            "a1x", "a1y", "a1z", "a2x", "a2y", "a2z", "b1x", "b1y", "b1z", "b2x", "b2y", "b2z"
        ]
    );
}

/// Rule (§2.1): no generators returns the tasks unchanged.
#[test]
fn task_generator_without_generators_is_identity() {
    let tasks = vec![json!({"name": "a"}), json!({"name": "b"})];
    let none: [&dyn TaskGen; 0] = [];
    let out = task_generator(tasks.clone(), &none, &dense_january(30)).unwrap();
    assert_eq!(out, tasks);
}

/// Boxed generators and closures mix in one list (Qlib only accepts TaskGen
/// instances).
#[test]
fn task_generator_accepts_boxed_generators_and_closures() {
    let generators: Vec<Box<dyn TaskGen>> = vec![
        Box::new(
            ParamSweep::new()
                .axis("model.kwargs.loss", [json!("mse"), json!("huber")])
                .unwrap(),
        ),
        Box::new(RollingGen::new(4)),
        Box::new(|task: &Value, _: &Calendar| Ok(vec![task.clone()])),
    ];
    let task = template(
        [json!("2021-01-01"), json!("2021-01-08")],
        [json!("2021-01-09"), json!("2021-01-12")],
        [json!("2021-01-13"), json!("2021-01-20")],
        json!("2021-01-20"),
    );
    let tasks = task_generator([task], &generators, &dense_january(30)).unwrap();
    assert_eq!(tasks.len(), 4);
    let summary: Vec<(String, String)> = tasks
        .iter()
        .map(|t| {
            (
                t["model"]["kwargs"]["loss"].as_str().unwrap().to_owned(),
                seg(t, "test")[0].clone(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("mse".to_owned(), "2021-01-13".to_owned()),
            ("mse".to_owned(), "2021-01-17".to_owned()),
            ("huber".to_owned(), "2021-01-13".to_owned()),
            ("huber".to_owned(), "2021-01-17".to_owned()),
        ]
    );
}

/// A generator error stops the expansion and is returned as is.
#[test]
fn task_generator_propagates_errors() {
    let failing = gen_fn(|_: &Value, _: &Calendar| {
        Err(GenError::Config {
            param: "test",
            reason: "always fails".to_owned(),
        })
    });
    let err =
        task_generator([json!({})], &[&failing as &dyn TaskGen], &dense_january(30)).unwrap_err();
    assert!(matches!(err, GenError::Config { param: "test", .. }));
}

/// Sweep: the cartesian product of value lists, first axis outermost.
#[test]
fn sweep_is_cartesian_product_first_axis_outermost() {
    let sweep = ParamSweep::new()
        .axis("model.kwargs.loss", [json!("mse"), json!("huber")])
        .unwrap()
        .axis("model.kwargs.alpha", [json!(0.1), json!(1), json!(10)])
        .unwrap();
    let tasks = sweep
        .generate(
            &json!({"model": {"class": "Ridge", "kwargs": {"loss": "l1"}}}),
            &dense_january(30),
        )
        .unwrap();
    let pairs: Vec<(String, String)> = tasks
        .iter()
        .map(|t| {
            (
                t["model"]["kwargs"]["loss"].as_str().unwrap().to_owned(),
                t["model"]["kwargs"]["alpha"].to_string(),
            )
        })
        .collect();
    let expected: Vec<(String, String)> = [
        ("mse", "0.1"),
        ("mse", "1"),
        ("mse", "10"),
        ("huber", "0.1"),
        ("huber", "1"),
        ("huber", "10"),
    ]
    .iter()
    .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
    .collect();
    assert_eq!(pairs, expected);
    assert!(tasks.iter().all(|t| t["model"]["class"] == json!("Ridge")));
}

/// Sweep: an empty value list is a configuration error.
#[test]
fn sweep_empty_values_is_config_error() {
    let err = ParamSweep::new().axis("model.kwargs.loss", []).unwrap_err();
    assert!(matches!(err, GenError::Config { param: "sweep", .. }));
}

/// Sweep: a path through a scalar is reported with the path.
#[test]
fn sweep_path_through_scalar_is_wrong_type() {
    let sweep = ParamSweep::new()
        .axis("model.kwargs.loss", [json!("mse")])
        .unwrap();
    let err = sweep
        .generate(&json!({"model": "LGB"}), &dense_january(30))
        .unwrap_err();
    assert!(matches!(err, GenError::WrongType { ref path, .. } if path == "model"));
}

/// Sweep without axes returns the task unchanged.
#[test]
fn sweep_without_axes_is_identity() {
    let task = json!({"model": {"class": "LGB"}});
    let tasks = ParamSweep::new()
        .generate(&task, &dense_january(30))
        .unwrap();
    assert_eq!(tasks, vec![task]);
}
