//! The product, `bvault`, under real faults on real processes: the history
//! its clients saw passes the bound on password tests per registration and
//! the linearizability search (`real_faults/mod.rs` says how the run goes).
//!
//! `BVAULT_FAULT_RUNS` (default 1), `BVAULT_FAULT_SECONDS` (default 8) and
//! `BVAULT_FAULT_SEED` (default 1) set the soak's size; the nightly runs
//! more.

mod real_faults;

use real_faults::{env_or, run_once, Servers};
use std::path::PathBuf;

#[test]
fn real_faults_on_real_processes_pass_the_history_checks() {
    let runs = env_or("BVAULT_FAULT_RUNS", 1);
    let seconds = env_or("BVAULT_FAULT_SECONDS", 8);
    let first = env_or("BVAULT_FAULT_SEED", 1);
    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("runtime-faults");
    let servers = Servers {
        exe: PathBuf::from(env!("CARGO_BIN_EXE_bvault")),
        node_args: Vec::new(),
    };
    let mut failures = Vec::new();
    for seed in first..first + runs {
        match run_once(seed, seconds, &out, &servers) {
            Ok(line) => println!("{line}"),
            Err(why) => failures.push(why),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
