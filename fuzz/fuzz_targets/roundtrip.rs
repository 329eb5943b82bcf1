//! Fuzz target `roundtrip`: see `backup_vault_fuzz::targets::roundtrip` for what it checks.
//!
//! Under `cargo fuzz` (`--cfg fuzzing`) this is a libFuzzer target. In any
//! other build it replays files: `cargo run -p backup-vault-fuzz --bin roundtrip -- [FILE|DIR]...`
//! (default: `fuzz/seeds/roundtrip`).
#![cfg_attr(fuzzing, no_main)]

#[cfg(fuzzing)]
libfuzzer_sys::fuzz_target!(|data: &[u8]| backup_vault_fuzz::targets::roundtrip(data));

#[cfg(not(fuzzing))]
fn main() {
    backup_vault_fuzz::replay::main("roundtrip", backup_vault_fuzz::targets::roundtrip)
}
