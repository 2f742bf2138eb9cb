//! The integrity check of the record trees: records decode under their own
//! keys, every artifact directory belongs to a record, and the chunks agree
//! with the directories both ways (no orphan chunk, none missing, lengths add
//! up).

use std::collections::{BTreeMap, BTreeSet};

use task_store::Result;
use task_store::record::{validate_artifact_name, validate_experiment_name};

use crate::codec::{self, StoredArtifact};
use crate::error::SledError;
use crate::integrity::IntegrityReport;
use crate::layout::{self, CHUNK_LEN};
use crate::store::Inner;

/// What the chunks tree should hold for one artifact, and what it holds.
struct Expected {
    at: String,
    stored: StoredArtifact,
    found: u32,
    bytes: u64,
}

impl Inner {
    /// Check the record trees, adding counts and problems to `report`.
    pub(crate) fn check_records(&self, report: &mut IntegrityReport) -> Result<()> {
        let records = self.check_record_entries(report)?;
        let mut artifacts = self.check_directories(&records, report)?;
        for entry in self.trees.chunks.iter() {
            let (key, value) = entry.map_err(SledError::Sled)?;
            report.artifact_chunks += 1;
            let parsed = layout::split_pool(&key)
                .and_then(|(exp, rest)| Some((exp, layout::parse_chunk_suffix(rest)?)));
            let Some((exp, (id, name, index))) = parsed else {
                report.problems.push(format!("malformed chunk key {key:?}"));
                continue;
            };
            let prefix = layout::artifact_chunks_prefix(&layout::experiment_prefix(exp), id, name);
            let Some(expected) = artifacts.get_mut(&prefix) else {
                report.problems.push(format!(
                    "chunk {index} of artifact {name:?} of record {id} in experiment {exp:?}: no directory entry (an orphan)"
                ));
                continue;
            };
            if index >= expected.stored.chunks {
                report.problems.push(format!(
                    "{}: chunk {index} beyond its {} chunks",
                    expected.at, expected.stored.chunks
                ));
                continue;
            }
            if value.len() > CHUNK_LEN {
                report.problems.push(format!(
                    "{}: chunk {index} holds {} bytes, more than {CHUNK_LEN}",
                    expected.at,
                    value.len()
                ));
            }
            expected.found += 1;
            expected.bytes += value.len() as u64;
        }
        for expected in artifacts.values() {
            if expected.found != expected.stored.chunks {
                report.problems.push(format!(
                    "{}: {} of its {} chunks exist",
                    expected.at, expected.found, expected.stored.chunks
                ));
            } else if expected.bytes != expected.stored.len {
                report.problems.push(format!(
                    "{}: its chunks hold {} bytes, its directory says {}",
                    expected.at, expected.bytes, expected.stored.len
                ));
            }
        }
        Ok(())
    }

    /// Check every record; returns their keys.
    fn check_record_entries(&self, report: &mut IntegrityReport) -> Result<BTreeSet<Vec<u8>>> {
        let mut keys = BTreeSet::new();
        for entry in self.trees.records.iter() {
            let (key, value) = entry.map_err(SledError::Sled)?;
            report.records += 1;
            let parsed = layout::split_pool(&key)
                .filter(|(exp, _)| validate_experiment_name(exp).is_ok())
                .and_then(|(exp, rest)| Some((exp, layout::parse_record_suffix(rest)?)));
            let Some((exp, id)) = parsed else {
                report
                    .problems
                    .push(format!("malformed record key {key:?}"));
                continue;
            };
            match codec::decode_record(exp, &value) {
                Ok(record) if record.id != id => report.problems.push(format!(
                    "record {id} of experiment {exp:?} holds id {}",
                    record.id
                )),
                Ok(_) => {}
                Err(e) => report.problems.push(format!(
                    "record {id} of experiment {exp:?} does not decode: {e}"
                )),
            }
            keys.insert(key.to_vec());
        }
        Ok(keys)
    }

    /// Check every artifact directory against the records; returns what the
    /// chunks tree should hold, by artifact chunk prefix.
    fn check_directories(
        &self,
        records: &BTreeSet<Vec<u8>>,
        report: &mut IntegrityReport,
    ) -> Result<BTreeMap<Vec<u8>, Expected>> {
        let mut artifacts = BTreeMap::new();
        for entry in self.trees.artifacts.iter() {
            let (key, value) = entry.map_err(SledError::Sled)?;
            let parsed = layout::split_pool(&key)
                .and_then(|(exp, rest)| Some((exp, layout::parse_record_suffix(rest)?)));
            let Some((exp, id)) = parsed else {
                report
                    .problems
                    .push(format!("malformed artifact-directory key {key:?}"));
                continue;
            };
            let at = format!("artifact directory of record {id} in experiment {exp:?}");
            if !records.contains(key.as_ref()) {
                report.problems.push(format!("{at}: no such record"));
            }
            let directory = match codec::decode_directory(&value) {
                Ok(directory) => directory,
                Err(e) => {
                    report.problems.push(format!("{at}: does not decode: {e}"));
                    continue;
                }
            };
            if directory.is_empty() {
                report.problems.push(format!("{at}: stored empty"));
            }
            let prefix = layout::experiment_prefix(exp);
            for (name, stored) in directory {
                report.artifacts += 1;
                let at = format!("artifact {name:?} of record {id} in experiment {exp:?}");
                if validate_artifact_name(&name).is_err() {
                    report.problems.push(format!("{at}: invalid name"));
                }
                let expected = Expected {
                    at,
                    stored,
                    found: 0,
                    bytes: 0,
                };
                artifacts.insert(layout::artifact_chunks_prefix(&prefix, id, &name), expected);
            }
        }
        Ok(artifacts)
    }
}
