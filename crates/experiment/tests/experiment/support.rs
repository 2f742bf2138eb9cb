//! Helpers shared by the experiment crate's integration tests.

use std::path::{Path, PathBuf};

/// The numpy ridge example model.
pub fn numpy_ridge() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/models/numpy_ridge.py")
}

/// Whether `python3` with numpy is here; prints why not (and fails under CI).
pub fn numpy_available() -> bool {
    let ok = std::process::Command::new("python3")
        .args(["-c", "import numpy"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI needs python3 with numpy for the command-model tests"
        );
        eprintln!("skipped: needs python3 with numpy");
    }
    ok
}
