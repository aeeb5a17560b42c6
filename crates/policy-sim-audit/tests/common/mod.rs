//! What the audit crate's tests share: the repository root and running the binary there.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_policy-sim-audit");
/// The shipped policy most tests decide with.
pub const CORRECTED: &str = "policies/corrected-auth-role.json";

/// The repository root (the core crate's directory).
pub fn project() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .unwrap()
        .to_path_buf()
}

/// Run the binary from the repository root.
pub fn audit(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .current_dir(project())
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}
