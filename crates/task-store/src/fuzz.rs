//! What every parser fuzz property of the workspace shares (feature `fuzz`):
//! the runner (case count and seed from the environment, the seed printed),
//! byte mutations of valid inputs, and the check that a refusal is a
//! one-line message.
//!
//! The properties themselves live next to their parsers (the query parser
//! here, the task-file and template readers in the CLI, the calendar in the
//! pipeline, the run configuration in the experiment crate). Each has the
//! same three shapes: arbitrary text, inputs built from the parser's own
//! vocabulary, and valid inputs with a few random byte edits ([`mutated`]).
//! Whatever the input, the parser must not panic, must refuse with its
//! documented error, and what it accepts must be usable by the next step.
//!
//! # Environment
//!
//! - `TASKPOOL_FUZZ_CASES`: inputs per property (default
//!   [`DEFAULT_CASES`]; CI: 34,000, so over 100,000 per parser; a soak
//!   run: 1,000,000).
//! - `TASKPOOL_PROPTEST_SEED`: the seed (a whole number) to replay a run;
//!   every run prints the seed it used.

use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};
use serde_json::{Value, json};

/// The environment variable that sets the inputs per property.
pub const CASES_VAR: &str = "TASKPOOL_FUZZ_CASES";

/// The environment variable that fixes the random seed, to replay a run.
pub const SEED_VAR: &str = "TASKPOOL_PROPTEST_SEED";

/// Inputs per property unless `TASKPOOL_FUZZ_CASES` says otherwise.
pub const DEFAULT_CASES: u32 = 10_000;

/// The seed of this run: `TASKPOOL_PROPTEST_SEED`, or a fresh random one.
///
/// # Panics
/// If the variable is set but is not a whole number.
pub fn seed() -> u64 {
    match std::env::var(SEED_VAR) {
        Ok(v) => v
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{SEED_VAR} must be a whole number, got {v:?}")),
        Err(_) => rand::random(),
    }
}

/// The generator of a run with `seed` (ChaCha, so a seed replays the same
/// inputs on every machine).
pub fn rng(seed: u64) -> TestRng {
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&seed.to_le_bytes());
    TestRng::from_seed(RngAlgorithm::ChaCha, &bytes)
}

/// The inputs per property: `TASKPOOL_FUZZ_CASES`, else [`DEFAULT_CASES`].
///
/// # Panics
/// If the variable is set but is not a whole number.
pub fn cases() -> u32 {
    match std::env::var(CASES_VAR) {
        Ok(v) => v
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{CASES_VAR} must be a whole number, got {v:?}")),
        Err(_) => DEFAULT_CASES,
    }
}

/// A runner for the property `name`: [`cases`] inputs from [`seed`], no
/// regression files; prints the name, the count and the seed (on stderr,
/// shown for a failing test).
pub fn runner(name: &str) -> TestRunner {
    let (cases, seed) = (cases(), seed());
    eprintln!("{name}: {cases} inputs, seed {seed} (replay with {SEED_VAR}={seed})");
    let config = Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    };
    TestRunner::new_with_rng(config, rng(seed))
}

/// `text` with `edits` applied to its bytes: `(position, op, byte)` where
/// the position is taken modulo the length, op 0 deletes the byte there, 1
/// inserts `byte` there, anything else overwrites it. Invalid UTF-8 is
/// replaced by U+FFFD.
pub fn mutate(text: &str, edits: &[(usize, u8, u8)]) -> String {
    let mut bytes = text.as_bytes().to_vec();
    for (at, op, byte) in edits {
        let i = at % bytes.len().max(1);
        match op {
            0 if !bytes.is_empty() => {
                bytes.remove(i);
            }
            1 => bytes.insert(i.min(bytes.len()), *byte),
            _ if !bytes.is_empty() => bytes[i] = *byte,
            _ => {}
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// One of `valid` with one to five random byte edits ([`mutate`]).
pub fn mutated(valid: &'static [&'static str]) -> impl Strategy<Value = String> {
    let edit = (any::<usize>(), 0..3u8, any::<u8>());
    (
        prop::sample::select(valid),
        prop::collection::vec(edit, 1..6),
    )
        .prop_map(|(text, edits)| mutate(text, &edits))
}

/// A JSON scalar, the leaf of the JSON inputs the properties build: null, a
/// boolean, any `i64`, `u64` or `f64` (NaN and the infinities become null,
/// as JSON has no such numbers), or a string of up to `max_chars` characters
/// other than a newline, each of the six equally often.
pub fn json_scalar(max_chars: usize) -> impl Strategy<Value = Value> {
    let text = proptest::string::string_regex(&format!(".{{0,{max_chars}}}"))
        .expect("`.{0,N}` is a valid regular expression");
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<u64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| json!(f)),
        text.prop_map(Value::String),
    ]
}

/// Fails unless `message` is a non-empty single line (what the CLI prints
/// after `error:` for bad input).
///
/// # Errors
/// A test-case failure quoting the message.
pub fn one_line(message: &str) -> Result<(), TestCaseError> {
    if message.trim().is_empty() || message.contains('\n') {
        return Err(TestCaseError::fail(format!(
            "a refusal must be one non-empty line, got {message:?}"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mutate_deletes_inserts_and_overwrites() {
        assert_eq!(mutate("abc", &[(4, 0, 0)]), "ac");
        assert_eq!(mutate("abc", &[(0, 1, b'x')]), "xabc");
        assert_eq!(mutate("abc", &[(2, 2, b'x')]), "abx");
        assert_eq!(mutate("", &[(7, 0, 0), (7, 2, b'x')]), "");
        assert_eq!(mutate("", &[(7, 1, b'x')]), "x");
        assert_eq!(mutate("a", &[(0, 2, 0xff)]), "\u{fffd}");
    }

    #[test]
    fn json_scalar_yields_every_kind_of_scalar_and_short_strings() {
        use proptest::strategy::ValueTree;

        let mut runner = TestRunner::new_with_rng(Config::default(), rng(7));
        let strategy = json_scalar(3);
        let mut kinds = std::collections::BTreeSet::new();
        for _ in 0..2_000 {
            let value = strategy.new_tree(&mut runner).unwrap().current();
            if let Value::String(s) = &value {
                assert!(s.chars().count() <= 3 && !s.contains('\n'), "{s:?}");
            }
            assert!(!value.is_array() && !value.is_object(), "{value}");
            kinds.insert(match value {
                Value::Null => "null",
                Value::Bool(_) => "bool",
                Value::Number(n) if n.is_i64() => "i64",
                Value::Number(n) if n.is_u64() => "u64",
                Value::Number(_) => "f64",
                _ => "string",
            });
        }
        assert_eq!(kinds.len(), 6, "{kinds:?}");
    }

    #[test]
    fn one_line_refuses_empty_and_multi_line_messages() {
        assert!(one_line("line 2: malformed JSON").is_ok());
        assert!(one_line("").is_err());
        assert!(one_line(" ").is_err());
        assert!(one_line("a\nb").is_err());
    }
}
