//! A successful run's artifact directory becomes a record with artifacts.
//!
//! The rules are documented for users in the [worker module](super#artifacts)
//! and `docs/worker-protocol.md`; this is their one implementation, shared
//! by workers and the in-process trainers. [`scan`] validates every file
//! before [`store_record`] writes anything.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;
use task_store::record::{validate_artifact_len, validate_artifact_name};
use task_store::{
    Error, NewRecord, Record, RecordId, RecordStatus, RecordStore, Result, UpdateRecord,
};

use super::input::Phase;

/// The definition field naming a task's experiment.
pub const EXPERIMENT_FIELD: &str = "experiment";
/// The result field whose numbers become the record's metrics.
pub const METRICS_FIELD: &str = "metrics";
/// The record tag holding the phase that produced the record.
pub const PHASE_TAG: &str = "phase";

/// The experiment of a task: `def["experiment"]` when it is a string, else `default`.
pub fn experiment_of<'a>(def: &'a Value, default: &'a str) -> &'a str {
    def.get(EXPERIMENT_FIELD)
        .and_then(Value::as_str)
        .unwrap_or(default)
}

/// The metrics of a result: the finite numbers of `result["metrics"]` when it
/// is an object. Other entries (strings, nested objects, `null`…) are left
/// out with a warning; anything else has no metrics.
pub fn metrics_of(result: &Value) -> BTreeMap<String, f64> {
    let Some(Value::Object(map)) = result.get(METRICS_FIELD) else {
        return BTreeMap::new();
    };
    let mut metrics = BTreeMap::new();
    for (name, value) in map {
        match value.as_f64().filter(|v| v.is_finite()) {
            Some(v) => {
                metrics.insert(name.clone(), v);
            }
            None => tracing::warn!(
                metric = %name,
                "result metric is not a finite number; it is not copied into the record"
            ),
        }
    }
    metrics
}

/// One file to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ArtifactFile {
    /// The artifact name: the `/`-joined path relative to the directory.
    pub name: String,
    /// Where to read it (a symlink's target).
    pub path: PathBuf,
}

/// The files of an artifact directory, sorted by artifact name.
///
/// # Errors
/// `InvalidInput` for a file that cannot become an artifact (see the worker
/// rules); `Backend` when the directory cannot be read.
pub(crate) fn scan(dir: &Path) -> Result<Vec<ArtifactFile>> {
    let root = dir.canonicalize().map_err(|e| io_error(dir, e))?;
    let mut files = Vec::new();
    walk(&root, &root, "", &mut files)?;
    files.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(files)
}

fn walk(root: &Path, dir: &Path, prefix: &str, out: &mut Vec<ArtifactFile>) -> Result<()> {
    for entry in std::fs::read_dir(dir).map_err(|e| io_error(dir, e))? {
        let entry = entry.map_err(|e| io_error(dir, e))?;
        let file_name = entry.file_name();
        let file_name = file_name.to_str().ok_or_else(|| {
            Error::invalid_input(format!(
                "artifact file {:?} has a name that is not UTF-8",
                entry.path()
            ))
        })?;
        let name = if prefix.is_empty() {
            file_name.to_string()
        } else {
            format!("{prefix}/{file_name}")
        };
        let kind = entry.file_type().map_err(|e| io_error(&entry.path(), e))?;
        if kind.is_dir() {
            walk(root, &entry.path(), &name, out)?;
            continue;
        }
        let path = if kind.is_symlink() {
            symlink_target(root, &entry.path(), &name)?
        } else if kind.is_file() {
            entry.path()
        } else {
            return Err(Error::invalid_input(format!(
                "artifact {name:?} is not a regular file"
            )));
        };
        validate_artifact_name(&name)?;
        let len = std::fs::metadata(&path)
            .map_err(|e| io_error(&path, e))?
            .len();
        validate_artifact_len(usize::try_from(len).unwrap_or(usize::MAX))?;
        out.push(ArtifactFile { name, path });
    }
    Ok(())
}

/// The regular file inside `root` that the symlink `link` points to.
fn symlink_target(root: &Path, link: &Path, name: &str) -> Result<PathBuf> {
    let target = link
        .canonicalize()
        .map_err(|_| Error::invalid_input(format!("artifact {name:?} is a dangling symlink")))?;
    if !target.starts_with(root) {
        return Err(Error::invalid_input(format!(
            "artifact {name:?} is a symlink pointing outside the artifact directory"
        )));
    }
    if !std::fs::metadata(&target).is_ok_and(|m| m.is_file()) {
        return Err(Error::invalid_input(format!(
            "artifact {name:?} is a symlink to something other than a regular file"
        )));
    }
    Ok(target)
}

fn io_error(path: &Path, e: std::io::Error) -> Error {
    Error::backend(format!(
        "cannot read the artifact directory at {}",
        path.display()
    ))
    .with_source(e)
}

/// Where a record and its artifacts go, and what it says about its task.
pub(crate) struct RecordPlan<'a> {
    /// The store.
    pub records: &'a dyn RecordStore,
    /// The record's experiment.
    pub experiment: &'a str,
    /// The record (with the run's [metrics](metrics_of)) before its phase
    /// tag is added.
    pub record: NewRecord,
    /// The phase that produced it.
    pub phase: Phase,
}

/// Store the files of `dir` as a record (see the worker rules); `None` when
/// the directory holds no file.
///
/// # Errors
/// Whatever made storing fail; the partial record is deleted first.
pub(crate) async fn store_record(plan: RecordPlan<'_>, dir: &Path) -> Result<Option<Record>> {
    let dir = dir.to_path_buf();
    let files = tokio::task::spawn_blocking(move || scan(&dir))
        .await
        .map_err(|e| Error::backend(format!("scanning the artifact directory stopped: {e}")))??;
    if files.is_empty() {
        return Ok(None);
    }
    let mut new = plan.record;
    new.status = RecordStatus::Running;
    new.tags
        .insert(PHASE_TAG.to_string(), plan.phase.as_str().to_string());
    let record = plan.records.create_record(plan.experiment, new).await?;
    match put_files(plan.records, plan.experiment, record.id, &files).await {
        Ok(record) => Ok(Some(record)),
        Err(e) => {
            discard_record(plan.records, plan.experiment, record.id).await;
            Err(e)
        }
    }
}

async fn put_files(
    records: &dyn RecordStore,
    experiment: &str,
    id: RecordId,
    files: &[ArtifactFile],
) -> Result<Record> {
    for file in files {
        let path = file.path.clone();
        let bytes = tokio::task::spawn_blocking(move || std::fs::read(path))
            .await
            .map_err(|e| Error::backend(format!("reading artifact file stopped: {e}")))?
            .map_err(|e| {
                Error::backend(format!("cannot read artifact file {:?}", file.name)).with_source(e)
            })?;
        records
            .put_artifact(experiment, id, &file.name, bytes)
            .await?;
    }
    let finished = UpdateRecord::new(id).status(RecordStatus::Finished);
    records.update_record(experiment, finished).await
}

/// Without a record store, the files a run left behind are dropped: say so.
pub(crate) fn warn_discarded(task: &dyn std::fmt::Display, dir: &Path) {
    let count = std::fs::read_dir(dir).map_or(0, |entries| entries.count());
    if count > 0 {
        tracing::warn!(
            task = %task,
            "{count} entries of the artifact directory discarded: no record store to keep them in"
        );
    }
}

/// Delete a record whose task result was abandoned; a failure is logged.
pub(crate) async fn discard_record(records: &dyn RecordStore, experiment: &str, id: RecordId) {
    match records.delete_record(experiment, id).await {
        Ok(_) => tracing::info!(record = %id, experiment, "record deleted"),
        Err(e) => tracing::error!(
            record = %id, experiment,
            "cannot delete the record of an abandoned result ({e}); delete it by hand"
        ),
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::symlink;

    use serde_json::json;
    use task_store::ErrorKind;

    use super::*;

    fn names(files: &[ArtifactFile]) -> Vec<&str> {
        files.iter().map(|f| f.name.as_str()).collect()
    }

    #[test]
    fn experiment_of_prefers_the_definition_string() {
        assert_eq!(
            experiment_of(&json!({"experiment": "exp1"}), "pool"),
            "exp1"
        );
        assert_eq!(experiment_of(&json!({"experiment": 3}), "pool"), "pool");
        assert_eq!(experiment_of(&json!({"x": 1}), "pool"), "pool");
        assert_eq!(experiment_of(&json!([1]), "pool"), "pool");
    }

    #[test]
    fn metrics_of_copies_finite_numbers_only() {
        let result =
            json!({"metrics": {"ic": 0.25, "n": 3, "name": "x", "nested": {"a": 1}, "none": null}});
        let got = metrics_of(&result);
        assert_eq!(
            got,
            BTreeMap::from([("ic".into(), 0.25), ("n".into(), 3.0)])
        );
        assert!(metrics_of(&json!({"metrics": [1, 2]})).is_empty());
        assert!(metrics_of(&json!(5)).is_empty());
    }

    #[test]
    fn scan_walks_subdirectories_with_slash_names() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("b.txt"), "b").unwrap();
        std::fs::create_dir_all(dir.path().join("plots/deep")).unwrap();
        std::fs::create_dir(dir.path().join("empty")).unwrap();
        std::fs::write(dir.path().join("plots/deep/ic.png"), "png").unwrap();
        std::fs::write(dir.path().join("a.bin"), [0u8, 255]).unwrap();
        let files = scan(dir.path()).unwrap();
        assert_eq!(names(&files), ["a.bin", "b.txt", "plots/deep/ic.png"]);
    }

    #[test]
    fn scan_follows_symlinks_inside_the_directory() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("sub/real"), "x").unwrap();
        symlink("sub/real", dir.path().join("link")).unwrap();
        let files = scan(dir.path()).unwrap();
        assert_eq!(names(&files), ["link", "sub/real"]);
        assert_eq!(files[0].path, files[1].path);
    }

    #[test]
    fn scan_rejects_symlinks_escaping_or_dangling_or_to_directories() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret"), "s").unwrap();
        let cases: [(&str, PathBuf); 4] = [
            ("escape", outside.path().join("secret")),
            (
                "dotdot",
                PathBuf::from("../../../../../../../../../..")
                    .join(outside.path().strip_prefix("/").unwrap())
                    .join("secret"),
            ),
            ("dangling", PathBuf::from("nowhere")),
            ("loop", PathBuf::from(".")),
        ];
        for (name, target) in cases {
            let dir = tempfile::tempdir().unwrap();
            symlink(&target, dir.path().join(name)).unwrap();
            assert_eq!(
                scan(dir.path()).unwrap_err().kind(),
                ErrorKind::InvalidInput,
                "{name}"
            );
        }
    }

    #[test]
    fn scan_rejects_bad_names_and_special_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("with space"), "x").unwrap();
        assert_eq!(
            scan(dir.path()).unwrap_err().kind(),
            ErrorKind::InvalidInput
        );

        let dir = tempfile::tempdir().unwrap();
        let fifo = std::ffi::CString::new(dir.path().join("fifo").to_str().unwrap()).unwrap();
        // SAFETY: mkfifo(3) reads a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
        assert_eq!(
            scan(dir.path()).unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
    }

    #[test]
    fn scan_of_an_empty_directory_is_empty() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("nothing")).unwrap();
        assert!(scan(dir.path()).unwrap().is_empty());
    }
}
