//! Fuzz target `backends`: see `backup_vault_fuzz::targets::backends` for what it checks.
//!
//! Under `cargo fuzz` (`--cfg fuzzing`) this is a libFuzzer target. In any
//! other build it replays files: `cargo run -p backup-vault-fuzz --bin backends -- [FILE|DIR]...`
//! (default: `fuzz/seeds/backends`).
#![cfg_attr(fuzzing, no_main)]

#[cfg(fuzzing)]
libfuzzer_sys::fuzz_target!(|data: &[u8]| backup_vault_fuzz::targets::backends(data));

#[cfg(not(fuzzing))]
fn main() {
    backup_vault_fuzz::replay::main("backends", backup_vault_fuzz::targets::backends)
}
