//! Fuzzing the calendar reader ([`Calendar::parse`], Qlib's
//! `calendars/day.txt`) with property tests in the shape of the query
//! parser's (see `task_store::fuzz`): arbitrary text, calendars built from
//! dates and the ways files go wrong (unsorted, repeated, blank, time parts,
//! CRLF, junk), and valid calendars with random byte edits.
//!
//! Whatever the input, parsing never panics and every refusal is a
//! [`CalendarError`] other than `Io` (the file was read) whose message is one
//! line. An accepted calendar keeps its invariants (non-empty, strictly
//! increasing; the index lookups agree with the days) and is usable: a
//! template whose segments are dates of the calendar rolls over it with
//! [`RollingGen`], in both rolling types, with and without a future
//! calendar, and generation either succeeds or refuses with a
//! [`GenError`](crate::generate::GenError); it never panics.
//!
//! `TASKPOOL_FUZZ_CASES` sets the inputs per property and
//! `TASKPOOL_PROPTEST_SEED` replays a run.

use jiff::civil::Date;
use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::TestCaseError;
use serde_json::json;
use task_store::fuzz::{mutated, one_line, runner};

use crate::calendar::{Calendar, CalendarError};
use crate::generate::{RollingGen, Step, TaskGen, task_generator};
use crate::time_adjust::RollType;

/// Valid calendars: the example file and a small one with every accepted
/// spelling (blank lines, time parts, surrounding spaces).
const CALENDARS: &[&str] = &[
    include_str!("../../../examples/gen/day.txt"),
    "2020-01-02\n\n  2020-01-03 00:00:00\n2020-01-06T09:30:00\n2020-01-07 \n",
];

fn fail(message: String) -> TestCaseError {
    TestCaseError::fail(message)
}

/// The invariants of an accepted calendar, then a rolling generation over
/// it; or the documented refusal.
fn check(outcome: Result<Calendar, CalendarError>) -> Result<(), TestCaseError> {
    let calendar = match outcome {
        Ok(calendar) => calendar,
        Err(CalendarError::Io { .. }) => return Err(fail("parse reported an I/O error".into())),
        Err(e) => return one_line(&e.to_string()),
    };
    let days = calendar.days();
    if days.is_empty() || days.windows(2).any(|w| w[0] >= w[1]) {
        return Err(fail(format!("accepted a calendar out of order: {days:?}")));
    }
    for (i, day) in days.iter().enumerate() {
        if calendar.index_on_or_after(*day) != i || calendar.index_on_or_before(*day) != Some(i) {
            return Err(fail(format!("index lookups disagree at day {i} ({day})")));
        }
    }
    roll(&calendar)?;
    roll(&calendar.clone().with_future(&calendar))
}

/// Generate rolling tasks over `calendar` from a template anchored to its
/// days; success or a generator error.
fn roll(calendar: &Calendar) -> Result<(), TestCaseError> {
    let days = calendar.days();
    let at = |q: usize| days[(days.len() - 1) * q / 4].to_string();
    let template = json!({
        "model": {"class": "LGBModel"},
        "dataset": {"kwargs": {
            "handler": {"kwargs": {"start_time": at(0), "end_time": at(4)}},
            "segments": {
                "train": [at(0), at(1)],
                "valid": [at(2), at(2)],
                "test": [at(3), null],
            },
        }},
    });
    for rtype in [RollType::Expanding, RollType::Sliding] {
        let rolling = RollingGen::default()
            .step(Step::TradingDays(days.len().div_ceil(8)))
            .rtype(rtype);
        let generators: Vec<Box<dyn TaskGen>> = vec![Box::new(rolling)];
        if let Ok(tasks) = task_generator([template.clone()], &generators, calendar)
            && tasks.is_empty()
        {
            return Err(fail("rolling generated no task and no error".into()));
        }
    }
    Ok(())
}

/// Lines a calendar file may hold, good and bad.
fn line() -> impl Strategy<Value = String> {
    let date = (1990..2031i16, 1..13i8, 1..29i8)
        .prop_map(|(y, m, d)| jiff::civil::date(y, m, d).to_string());
    prop_oneof![
        12 => date.clone(),
        2 => date.clone().prop_map(|d| format!("{d} 00:00:00")),
        1 => date.clone().prop_map(|d| format!("  {d}\t")),
        2 => Just(String::new()),
        1 => select(vec![
            "2020-02-30",
            "2020-13-01",
            "0000-01-01",
            "-0001-01-01",
            "9999-12-31",
            "2020-01-01T25:00:00",
            "2020/01/01",
            "20200101",
            "date",
            "\u{feff}2020-01-02",
        ])
        .prop_map(str::to_string),
        1 => ".{0,12}",
    ]
}

/// A calendar file: lines sorted (as a real file is) or not, joined by LF
/// or CRLF.
fn calendar_file() -> impl Strategy<Value = String> {
    (
        prop::collection::vec(line(), 0..40),
        prop::bool::weighted(0.7),
        prop::bool::weighted(0.2),
    )
        .prop_map(|(mut lines, sorted, crlf)| {
            if sorted {
                lines.sort_by_key(|l| l.trim().parse::<Date>().ok());
            }
            lines.join(if crlf { "\r\n" } else { "\n" })
        })
}

#[test]
fn calendar_parse_never_panics_on_arbitrary_text() {
    runner("calendar: arbitrary text")
        .run(&any::<String>(), |text| check(Calendar::parse(&text)))
        .unwrap();
}

#[test]
fn calendar_parse_never_panics_on_built_files() {
    runner("calendar: built files")
        .run(&calendar_file(), |text| check(Calendar::parse(&text)))
        .unwrap();
}

#[test]
fn calendar_parse_never_panics_on_mutated_files() {
    for text in CALENDARS {
        Calendar::parse(text).expect("the seeds are valid calendars");
    }
    runner("calendar: mutated files")
        .run(&mutated(CALENDARS), |text| check(Calendar::parse(&text)))
        .unwrap();
}
