//! The features and labels file a command model reads (`class: command`).
//!
//! One file per data version, written once (atomically: a temporary file
//! renamed into place) under `$TMPDIR/taskpool-features/` and named by the
//! BLAKE3 hash of the task's data spec (which holds the data file's own
//! hash), so every task, worker process and run on this machine reuses it.
//!
//! # Schema (CSV, one header line)
//!
//! `datetime,instrument,<feature>…,label,label_norm`: one row per (date,
//! instrument) that has features, sorted by date then instrument; the
//! features are those of [`FEATURE_NAMES`] in that order; `label` is the
//! next day's return (what IC is measured against), `label_norm` its
//! cross-sectional z-score per date (what the built-in ridge is fitted
//! on). A missing label is `NaN`; every number is written in the shortest
//! form that reads back to the same `f64`. `pandas.read_csv` and
//! `numpy.loadtxt` read it as it is.
//!
//! CSV rather than Parquet: a numpy-only model (no pyarrow) can read it,
//! it needs no arrow crates in the build, and the values round-trip exactly.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::market::{DataSpec, MarketData};
use crate::data::FEATURE_NAMES;

/// The schema's version: part of the file name, so a new schema never
/// reads an old file.
pub const FORMAT_VERSION: u32 = 1;

/// The column of the raw label.
pub const LABEL: &str = "label";
/// The column of the normalised label.
pub const LABEL_NORM: &str = "label_norm";

/// Where the file of `spec` lives.
pub fn path_for(spec: &DataSpec) -> PathBuf {
    let key = serde_json::to_vec(&(FORMAT_VERSION, spec)).unwrap_or_default();
    let hash = blake3::hash(&key).to_hex();
    std::env::temp_dir()
        .join("taskpool-features")
        .join(format!("v{FORMAT_VERSION}-{}.csv", &hash[..32]))
}

/// The file of `spec`, written from `data` unless it exists already.
///
/// # Errors
/// A message naming the path when the directory or the file cannot be
/// written.
pub fn ensure(spec: &DataSpec, data: &MarketData) -> Result<PathBuf, String> {
    let path = path_for(spec);
    if path.is_file() {
        return Ok(path);
    }
    let dir = path.parent().unwrap_or(Path::new("."));
    let fail = |e: std::io::Error| format!("writing the features file {}: {e}", path.display());
    std::fs::create_dir_all(dir).map_err(fail)?;
    let mut file = tempfile::NamedTempFile::new_in(dir).map_err(fail)?;
    write(data, std::io::BufWriter::new(file.as_file_mut())).map_err(fail)?;
    file.as_file().sync_all().map_err(fail)?;
    // Another process may have written it meanwhile: both wrote the same
    // bytes, so either rename wins.
    file.persist(&path).map_err(|e| fail(e.error))?;
    tracing::info!(path = %path.display(), "wrote the features file");
    Ok(path)
}

/// Write every row of `data` in the file's schema.
fn write(data: &MarketData, out: impl Write) -> std::io::Result<()> {
    let mut csv = csv::Writer::from_writer(out);
    let header = ["datetime", "instrument"]
        .into_iter()
        .chain(FEATURE_NAMES)
        .chain([LABEL, LABEL_NORM]);
    csv.write_record(header)?;
    let rows = data.dataset.rows(None, None);
    let width = FEATURE_NAMES.len();
    let mut fields: Vec<String> = Vec::with_capacity(width + 4);
    for i in 0..rows.len() {
        fields.clear();
        fields.push(rows.dates[i].to_string());
        fields.push(data.dataset.instruments[rows.instruments[i] as usize].clone());
        let features = &rows.features[i * width..(i + 1) * width];
        fields.extend(features.iter().map(|v| format!("{v:?}")));
        fields.push(format!("{:?}", rows.labels[i]));
        fields.push(format!("{:?}", rows.norm_labels[i]));
        csv.write_record(&fields)?;
    }
    csv.flush()
}

#[cfg(test)]
mod tests {
    use jiff::civil::date;

    use super::*;
    use crate::job::market;

    #[test]
    fn ensure_writes_every_row_once_and_reuses_the_file() {
        let spec = DataSpec::Synthetic {
            instruments: 4,
            days: 60,
            start: date(2020, 1, 1),
            seed: 11,
            until: None,
        };
        let data = market::load(&spec).unwrap();
        let path = ensure(&spec, &data).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let mut lines = text.lines();
        let header: Vec<&str> = lines.next().unwrap().split(',').collect();
        assert_eq!(header.len(), FEATURE_NAMES.len() + 4);
        assert_eq!(&header[..2], ["datetime", "instrument"]);
        assert_eq!(&header[header.len() - 2..], [LABEL, LABEL_NORM]);
        let rows = data.dataset.rows(None, None);
        assert_eq!(lines.clone().count(), rows.len());
        let first: Vec<&str> = lines.next().unwrap().split(',').collect();
        assert_eq!(first[0], rows.dates[0].to_string());
        assert_eq!(first[2].parse::<f64>().unwrap(), rows.features[0]);
        let modified = std::fs::metadata(&path).unwrap().modified().unwrap();
        assert_eq!(ensure(&spec, &data).unwrap(), path);
        assert_eq!(
            std::fs::metadata(&path).unwrap().modified().unwrap(),
            modified
        );
    }
}
