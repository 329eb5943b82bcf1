//! Fuzz target `archive`: see `backup_vault_fuzz::targets::archive` for what it checks.
//!
//! Under `cargo fuzz` (`--cfg fuzzing`) this is a libFuzzer target. In any
//! other build it replays files: `cargo run -p backup-vault-fuzz --bin archive -- [FILE|DIR]...`
//! (default: `fuzz/seeds/archive`).
#![cfg_attr(fuzzing, no_main)]

#[cfg(fuzzing)]
libfuzzer_sys::fuzz_target!(|data: &[u8]| backup_vault_fuzz::targets::archive(data));

#[cfg(not(fuzzing))]
fn main() {
    backup_vault_fuzz::replay::main("archive", backup_vault_fuzz::targets::archive)
}
