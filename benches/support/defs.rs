//! The task definitions every benchmark creates: Qlib-like model/dataset
//! documents of about 250 bytes, distinct by their `seed`.

use serde_json::{Value, json};
use taskpool::store::CreateParams;

/// How many definitions one `create` call carries (as `taskpool create` does).
pub const CREATE_BATCH: usize = 1000;

/// The definition with this seed.
pub fn task(seed: u64) -> Value {
    json!({
        "model": {
            "class": "LGBModel",
            "module_path": "qlib.contrib.model.gbdt",
            "kwargs": {"learning_rate": 0.05, "num_leaves": 64, "seed": seed},
        },
        "dataset": {
            "class": "DatasetH",
            "handler": "Alpha158",
            "segments": {
                "train": ["2008-01-01", "2014-12-31"],
                "valid": ["2015-01-01", "2016-12-31"],
                "test": ["2017-01-01", "2020-08-01"],
            },
        },
        "seed": seed,
    })
}

/// The definitions with seeds in `seeds`.
pub fn tasks(seeds: std::ops::Range<u64>) -> Vec<Value> {
    seeds.map(task).collect()
}

/// The definitions with seeds in `seeds` as `create` calls of
/// [`CREATE_BATCH`] definitions each.
pub fn create_batches(seeds: std::ops::Range<u64>) -> Vec<CreateParams> {
    tasks(seeds)
        .chunks(CREATE_BATCH)
        .map(|chunk| CreateParams::new(chunk.iter().cloned()))
        .collect()
}
