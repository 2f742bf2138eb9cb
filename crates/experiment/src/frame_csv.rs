//! CSV import and export of a prediction [`Frame`] (`taskpool ensemble`
//! reads and writes these files).
//!
//! The header is `datetime,instrument,<col>[,<col>…]`; each row holds a date
//! `YYYY-MM-DD`, an instrument name and one value per column. On input an
//! empty field or `NaN` (any case) is a missing value, fields are trimmed,
//! and every other value must parse as a number. On output a missing value
//! is an empty field and every other value is written in the shortest form
//! that reads back to the same `f64` (up to 17 significant digits).

use std::io::{Read, Write};

use jiff::civil::Date;
use task_store::{Error, Result};
use taskpool_pipeline::frame::{DATETIME, Frame, INSTRUMENT, Interner};

/// Read a frame from CSV (see the [module docs](self)). Rows keep file order.
///
/// # Errors
/// `InvalidInput` naming the line and field for a missing `datetime` or
/// `instrument` column or no value column, a repeated column, a row of
/// the wrong width, a bad date, an empty instrument or an unparsable
/// value; `Backend` if reading fails.
pub fn read_csv(reader: impl Read) -> Result<Frame> {
    let mut csv = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(reader);
    let header = csv.headers().map_err(csv_error)?.clone();
    let fields: Vec<&str> = header.iter().collect();
    for (i, want) in [DATETIME, INSTRUMENT].into_iter().enumerate() {
        if fields.get(i) != Some(&want) {
            return Err(Error::invalid_input(format!(
                "line 1: missing column {want:?} (the header must start with datetime,instrument)"
            )));
        }
    }
    if fields.len() < 3 {
        return Err(Error::invalid_input(
            "line 1: no value column after datetime,instrument",
        ));
    }
    let mut frame = Frame::new(fields[2..].iter().copied())
        .map_err(|e| Error::invalid_input(format!("line 1: {}", e.message())))?;
    let mut values = vec![0.0; fields.len() - 2];
    let mut names = Interner::default();
    for record in csv.records() {
        let record = record.map_err(csv_error)?;
        let line = record.position().map_or(0, |p| p.line());
        let at = |field: &str, msg: String| {
            Error::invalid_input(format!("line {line}, column {field:?}: {msg}"))
        };
        let datetime = parse_date(&record[0]).map_err(|m| at(DATETIME, m))?;
        let instrument = &record[1];
        if instrument.is_empty() {
            return Err(at(INSTRUMENT, "empty instrument".into()));
        }
        for (j, v) in values.iter_mut().enumerate() {
            *v = parse_value(&record[j + 2]).map_err(|m| at(fields[j + 2], m))?;
        }
        frame.push_row(datetime, names.intern(instrument), &values)?;
    }
    Ok(frame)
}

/// Write the frame as CSV (see the [module docs](self)), rows in frame order.
///
/// # Errors
/// `Backend` if writing fails.
pub fn write_csv(frame: &Frame, writer: impl Write) -> Result<()> {
    write_csv_rows(frame, writer, |_| true)
}

/// Write the frame as CSV, only the rows for which `keep(row)` is true.
///
/// # Errors
/// `Backend` if writing fails.
pub fn write_csv_rows(
    frame: &Frame,
    writer: impl Write,
    keep: impl FnMut(usize) -> bool,
) -> Result<()> {
    write_rows(frame, writer, DATETIME, keep)
}

/// The header of a signals file: `date,instrument,score`.
pub const SIGNALS_HEADER: [&str; 3] = ["date", INSTRUMENT, "score"];

/// Write a signal (a frame with the one column `score`) as
/// `date,instrument,score` (the signals files of `taskpool run` and
/// `taskpool online`), rows in frame order.
///
/// # Errors
/// `Backend` if writing fails.
pub fn write_signals_csv(frame: &Frame, writer: impl Write) -> Result<()> {
    write_rows(frame, writer, SIGNALS_HEADER[0], |_| true)
}

/// Write the rows `keep` selects under the header `first,instrument,<columns>`.
fn write_rows(
    frame: &Frame,
    writer: impl Write,
    first: &str,
    mut keep: impl FnMut(usize) -> bool,
) -> Result<()> {
    let mut csv = csv::Writer::from_writer(writer);
    let header = [first, INSTRUMENT].into_iter().chain(frame.column_names());
    csv.write_record(header).map_err(csv_error)?;
    let mut fields: Vec<String> = Vec::with_capacity(frame.columns().len() + 2);
    for row in (0..frame.len()).filter(|&r| keep(r)) {
        fields.clear();
        fields.push(frame.datetimes()[row].to_string());
        fields.push(frame.instruments()[row].to_string());
        fields.extend(
            frame
                .columns()
                .iter()
                .map(|c| format_value(c.values()[row])),
        );
        csv.write_record(&fields).map_err(csv_error)?;
    }
    csv.flush()
        .map_err(|e| Error::backend("cannot write CSV").with_source(e))
}

/// A value as written to CSV: empty for missing, else the shortest form that
/// reads back exactly.
pub fn format_value(v: f64) -> String {
    if v.is_nan() {
        String::new()
    } else {
        format!("{v:?}")
    }
}

fn parse_date(s: &str) -> std::result::Result<Date, String> {
    let shaped = s.len() == 10
        && s.bytes().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                b == b'-'
            } else {
                b.is_ascii_digit()
            }
        });
    if !shaped {
        return Err(format!("{s:?} is not a date YYYY-MM-DD"));
    }
    s.parse::<Date>()
        .map_err(|e| format!("{s:?} is not a valid date: {e}"))
}

fn parse_value(s: &str) -> std::result::Result<f64, String> {
    if s.is_empty() || s.eq_ignore_ascii_case("nan") {
        return Ok(f64::NAN);
    }
    s.parse::<f64>()
        .map_err(|_| format!("{s:?} is not a number"))
}

fn csv_error(e: csv::Error) -> Error {
    let line = e.position().map(|p| p.line());
    match e.kind() {
        csv::ErrorKind::Io(_) => Error::backend("cannot read CSV").with_source(e),
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => Error::invalid_input(format!(
            "line {}: {len} fields, the header has {expected_len}",
            line.unwrap_or(0)
        )),
        _ => Error::invalid_input(format!("invalid CSV: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use jiff::civil::date;
    use task_store::ErrorKind;

    use super::*;

    fn read(s: &str) -> Result<Frame> {
        read_csv(s.as_bytes())
    }

    #[test]
    fn read_csv_parses_rows_and_missing_values() {
        let f = read(
            "datetime,instrument,score,label\n\
             2017-01-03,SH600000,0.5,\n\
             2017-01-04 , SZ000001 , NaN , -1e-3\n\
             2017-01-04,X,nan,3\n",
        )
        .unwrap();
        assert_eq!(f.len(), 3);
        assert_eq!(f.datetimes()[1], date(2017, 1, 4));
        assert_eq!(&*f.instruments()[1], "SZ000001");
        let score = f.column("score").unwrap();
        assert_eq!(score[0], 0.5);
        assert!(score[1].is_nan() && score[2].is_nan());
        let label = f.column("label").unwrap();
        assert!(label[0].is_nan());
        assert_eq!(label[1], -1e-3);
    }

    #[test]
    fn read_csv_rejects_bad_input() {
        for bad in [
            "",
            "instrument,datetime,score\n",
            "datetime,score\n",
            "datetime,instrument\n2017-01-03,X\n",
            "datetime,instrument,s,s\n",
            "datetime,instrument,s\n2017-1-3,X,1\n",
            "datetime,instrument,s\n2017-02-30,X,1\n",
            "datetime,instrument,s\n20170103xx,X,1\n",
            "datetime,instrument,s\n2017-01-03,X,abc\n",
            "datetime,instrument,s\n2017-01-03,,1\n",
            "datetime,instrument,s\n2017-01-03,X,1,2\n",
            "datetime,instrument,s\n2017-01-03,X\n",
        ] {
            assert_eq!(
                read(bad).unwrap_err().kind(),
                ErrorKind::InvalidInput,
                "{bad:?}"
            );
        }
    }

    #[test]
    fn write_csv_round_trips() {
        let mut f = Frame::new(["score", "label"]).unwrap();
        f.push_row(date(2017, 1, 3), "SH600000", &[0.1 + 0.2, f64::NAN])
            .unwrap();
        f.push_row(date(2017, 1, 4), "A,B", &[-0.788675134594813, 1e-300])
            .unwrap();
        let mut out = Vec::new();
        write_csv(&f, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text,
            "datetime,instrument,score,label\n\
             2017-01-03,SH600000,0.30000000000000004,\n\
             2017-01-04,\"A,B\",-0.788675134594813,1e-300\n"
        );
        assert_eq!(read(&text).unwrap(), f);
    }
}
