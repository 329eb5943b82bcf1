//! Fuzz target `header`: see `backup_vault_fuzz::targets::header` for what it checks.
//!
//! Under `cargo fuzz` (`--cfg fuzzing`) this is a libFuzzer target. In any
//! other build it replays files: `cargo run -p backup-vault-fuzz --bin header -- [FILE|DIR]...`
//! (default: `fuzz/seeds/header`).
#![cfg_attr(fuzzing, no_main)]

#[cfg(fuzzing)]
libfuzzer_sys::fuzz_target!(|data: &[u8]| backup_vault_fuzz::targets::header(data));

#[cfg(not(fuzzing))]
fn main() {
    backup_vault_fuzz::replay::main("header", backup_vault_fuzz::targets::header)
}
