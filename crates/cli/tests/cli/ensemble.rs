//! `taskpool ensemble rolling|average FILE...`: output format and numbers
//! (reference §6.5–§6.6 worked examples), and every bad input (exit 2, one
//! line on stderr, nothing on stdout).

use std::path::PathBuf;
use std::process::Output;

use assert_cmd::Command;
use tempfile::TempDir;

struct Files {
    dir: TempDir,
}

impl Files {
    fn new() -> Files {
        Files {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    fn write(&self, name: &str, content: &str) -> String {
        let path: PathBuf = self.dir.path().join(name);
        std::fs::write(&path, content).expect("write input file");
        path.display().to_string()
    }
}

fn ensemble(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_taskpool"))
        .arg("ensemble")
        .args(args)
        .env_remove("TASKPOOL_STORE")
        .output()
        .expect("run taskpool")
}

fn stdout_of(out: &Output) -> String {
    assert_eq!(
        out.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).expect("UTF-8 output")
}

fn assert_bad_input(out: &Output) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr: {stderr}");
    assert!(
        out.stdout.is_empty(),
        "stdout: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(stderr.lines().count(), 1, "not one line: {stderr}");
    assert!(stderr.starts_with("taskpool: error: "), "{stderr}");
}

/// The score column of an `average` output, row by row.
fn scores(csv: &str) -> Vec<(String, String, f64)> {
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("datetime,instrument,score"));
    lines
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            assert_eq!(f.len(), 3, "{l}");
            (
                f[0].to_string(),
                f[1].to_string(),
                f[2].parse().expect("a number"),
            )
        })
        .collect()
}

fn assert_close(got: f64, want: f64) {
    assert!(
        (got - want).abs() <= 1e-12 * want.abs().max(1e-300),
        "{got} vs {want}"
    );
}

/// Reference §6.5: A covers 01-04..01-06, B 01-06..01-07, C 01-04..01-05.
const A: &str = "datetime,instrument,score
2020-01-04,X,1
2020-01-04,Y,2
2020-01-05,X,3
2020-01-05,Y,4
2020-01-06,X,5
2020-01-06,Y,6
";
const B: &str = "datetime,instrument,score
2020-01-06,Y,40
2020-01-06,X,30
2020-01-07,X,50
2020-01-07,Y,60
";
const C: &str = "datetime,instrument,score
2020-01-04,X,10
2020-01-04,Y,20
2020-01-05,X,30
2020-01-05,Y,40
";

#[test]
fn rolling_later_start_wins_whatever_the_file_order() {
    let f = Files::new();
    let (a, b) = (f.write("a.csv", A), f.write("b.csv", B));
    let want = "datetime,instrument,score
2020-01-04,X,1.0
2020-01-04,Y,2.0
2020-01-05,X,3.0
2020-01-05,Y,4.0
2020-01-06,X,30.0
2020-01-06,Y,40.0
2020-01-07,X,50.0
2020-01-07,Y,60.0
";
    assert_eq!(stdout_of(&ensemble(&["rolling", &b, &a])), want);
    assert_eq!(stdout_of(&ensemble(&["rolling", &a, &b])), want);
}

#[test]
fn rolling_equal_starts_later_file_wins() {
    let f = Files::new();
    let (a, c) = (f.write("a.csv", A), f.write("c.csv", C));
    let c_then_a = stdout_of(&ensemble(&["rolling", &c, &a]));
    assert!(c_then_a.contains("2020-01-04,X,1.0\n") && c_then_a.contains("2020-01-05,Y,4.0\n"));
    let a_then_c = stdout_of(&ensemble(&["rolling", &a, &c]));
    assert!(a_then_c.contains("2020-01-04,X,10.0\n") && a_then_c.contains("2020-01-05,Y,40.0\n"));
    assert!(a_then_c.contains("2020-01-06,X,5.0\n"));
}

#[test]
fn rolling_writes_missing_cells_empty_and_omits_all_missing_rows() {
    let f = Files::new();
    let one = f.write(
        "one.csv",
        "datetime,instrument,score,label\n2020-01-02,X,0.5,\n2020-01-02,Y,NaN,\n2020-01-02,Z,,2\n",
    );
    let other = f.write(
        "other.csv",
        "datetime,instrument,label,score\n2020-01-03,X,1,0.25\n",
    );
    assert_eq!(
        stdout_of(&ensemble(&["rolling", &one, &other])),
        "datetime,instrument,score,label\n2020-01-02,X,0.5,\n2020-01-02,Z,,2.0\n2020-01-03,X,0.25,1.0\n"
    );
}

#[test]
fn average_matches_the_reference_example() {
    let f = Files::new();
    let p1 = f.write(
        "p1.csv",
        "datetime,instrument,score\n2020-01-04,X,1\n2020-01-04,Y,2\n2020-01-04,Z,3\n\
         2020-01-05,X,10\n2020-01-05,Y,10\n2020-01-05,Z,40\n",
    );
    let p2 = f.write(
        "p2.csv",
        "datetime,instrument,score\n2020-01-05,Z,7\n2020-01-05,Y,6\n2020-01-05,X,5\n\
         2020-01-04,Z,1\n2020-01-04,Y,2\n2020-01-04,X,3\n",
    );
    let got = scores(&stdout_of(&ensemble(&["average", &p1, &p2])));
    let r3 = 3f64.sqrt();
    let want = [
        ("2020-01-04", "X", 0.0),
        ("2020-01-04", "Y", 0.0),
        ("2020-01-04", "Z", 0.0),
        ("2020-01-05", "X", (-1.0 / r3 - 1.0) / 2.0),
        ("2020-01-05", "Y", (-1.0 / r3) / 2.0),
        ("2020-01-05", "Z", (2.0 / r3 + 1.0) / 2.0),
    ];
    assert_eq!(got.len(), want.len());
    for ((d, i, v), (wd, wi, wv)) in got.iter().zip(want) {
        assert_eq!((d.as_str(), i.as_str()), (wd, wi));
        assert_close(*v, wv);
    }
    // Printed with full precision: -0.78867513459481...
    assert_eq!(got[3].2, (-1.0 / r3 - 1.0) / 2.0);
}

#[test]
fn average_skips_lone_and_constant_columns_and_omits_empty_rows() {
    let f = Files::new();
    // P3 has one value on 01-04 (std undefined); P4 counts alone there.
    // On 01-05 P3 is constant and P4 has a single instrument: no score at all.
    let p3 = f.write(
        "p3.csv",
        "datetime,instrument,score\n2020-01-04,X,1\n2020-01-04,Y,\n2020-01-05,X,7\n2020-01-05,Y,7\n",
    );
    let p4 = f.write(
        "p4.csv",
        "datetime,instrument,score\n2020-01-04,X,2\n2020-01-04,Y,4\n2020-01-05,X,3\n",
    );
    let got = scores(&stdout_of(&ensemble(&["average", &p3, &p4])));
    assert_eq!(got.len(), 2, "{got:?}");
    let h = 0.5f64.sqrt();
    assert_eq!((got[0].0.as_str(), got[0].1.as_str()), ("2020-01-04", "X"));
    assert_close(got[0].2, -h);
    assert_close(got[1].2, h);
}

#[test]
fn average_blends_every_column() {
    let f = Files::new();
    let p = f.write(
        "p.csv",
        "datetime,instrument,score,label\n2020-01-04,X,1,10\n2020-01-04,Y,3,20\n",
    );
    let got = scores(&stdout_of(&ensemble(&["average", &p])));
    let h = 0.5f64.sqrt();
    assert_close(got[0].2, -h);
    assert_close(got[1].2, h);
}

#[test]
fn help_shows_an_example() {
    let out = Command::new(env!("CARGO_BIN_EXE_taskpool"))
        .args(["ensemble", "--help"])
        .output()
        .unwrap();
    let text = stdout_of(&out);
    assert!(text.contains("taskpool ensemble rolling"), "{text}");
    assert!(text.contains("taskpool ensemble average"), "{text}");
}

#[test]
fn no_files_is_bad_input() {
    assert_bad_input(&ensemble(&["rolling"]));
    assert_bad_input(&ensemble(&["average"]));
}

#[test]
fn missing_file_is_bad_input() {
    let f = Files::new();
    let missing = f.dir.path().join("absent.csv").display().to_string();
    assert_bad_input(&ensemble(&["average", &missing]));
}

#[test]
fn missing_column_is_bad_input() {
    let f = Files::new();
    for (name, content) in [
        ("no_instrument.csv", "datetime,score\n2020-01-04,1\n"),
        ("no_datetime.csv", "instrument,score\nX,1\n"),
        ("no_value.csv", "datetime,instrument\n2020-01-04,X\n"),
        ("empty.csv", ""),
    ] {
        let path = f.write(name, content);
        assert_bad_input(&ensemble(&["rolling", &path]));
        assert_bad_input(&ensemble(&["average", &path]));
    }
}

#[test]
fn mismatched_columns_are_bad_input_for_rolling() {
    let f = Files::new();
    let a = f.write("a.csv", A);
    for (name, content) in [
        ("other.csv", "datetime,instrument,label\n2020-01-07,X,1\n"),
        (
            "wider.csv",
            "datetime,instrument,score,label\n2020-01-07,X,1,2\n",
        ),
    ] {
        let path = f.write(name, content);
        assert_bad_input(&ensemble(&["rolling", &a, &path]));
    }
}

#[test]
fn bad_date_is_bad_input() {
    let f = Files::new();
    for (i, date) in [
        "2020-02-30",
        "2020/01/04",
        "04-01-2020",
        "2020-1-4",
        "yesterday",
    ]
    .into_iter()
    .enumerate()
    {
        let path = f.write(
            &format!("d{i}.csv"),
            &format!("datetime,instrument,score\n{date},X,1\n"),
        );
        assert_bad_input(&ensemble(&["rolling", &path]));
        assert_bad_input(&ensemble(&["average", &path]));
    }
}

#[test]
fn unparsable_value_is_bad_input() {
    let f = Files::new();
    for (i, value) in ["abc", "1.2.3", "--1"].into_iter().enumerate() {
        let path = f.write(
            &format!("v{i}.csv"),
            &format!("datetime,instrument,score\n2020-01-04,X,{value}\n"),
        );
        assert_bad_input(&ensemble(&["average", &path]));
    }
}

#[test]
fn ragged_row_is_bad_input() {
    let f = Files::new();
    let path = f.write("r.csv", "datetime,instrument,score\n2020-01-04,X,1,2\n");
    assert_bad_input(&ensemble(&["rolling", &path]));
}

#[test]
fn repeated_entry_is_bad_input_for_average() {
    let f = Files::new();
    let path = f.write(
        "dup.csv",
        "datetime,instrument,score\n2020-01-04,X,1\n2020-01-04,X,2\n",
    );
    assert_bad_input(&ensemble(&["average", &path]));
}

#[test]
fn unknown_method_is_a_usage_error() {
    let f = Files::new();
    let a = f.write("a.csv", A);
    let out = ensemble(&["median", &a]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
}
