//! Fuzz target `cloud_object`: see `backup_vault_fuzz::targets::cloud_object` for what it checks.
//!
//! Under `cargo fuzz` (`--cfg fuzzing`) this is a libFuzzer target. In any
//! other build it replays files: `cargo run -p backup-vault-fuzz --bin cloud_object -- [FILE|DIR]...`
//! (default: `fuzz/seeds/cloud_object`).
#![cfg_attr(fuzzing, no_main)]

#[cfg(fuzzing)]
libfuzzer_sys::fuzz_target!(|data: &[u8]| backup_vault_fuzz::targets::cloud_object(data));

#[cfg(not(fuzzing))]
fn main() {
    backup_vault_fuzz::replay::main("cloud_object", backup_vault_fuzz::targets::cloud_object)
}
