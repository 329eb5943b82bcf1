//! Fuzz target `decrypt`: see `backup_vault_fuzz::targets::decrypt` for what it checks.
//!
//! Under `cargo fuzz` (`--cfg fuzzing`) this is a libFuzzer target. In any
//! other build it replays files: `cargo run -p backup-vault-fuzz --bin decrypt -- [FILE|DIR]...`
//! (default: `fuzz/seeds/decrypt`).
#![cfg_attr(fuzzing, no_main)]

#[cfg(fuzzing)]
libfuzzer_sys::fuzz_target!(|data: &[u8]| backup_vault_fuzz::targets::decrypt(data));

#[cfg(not(fuzzing))]
fn main() {
    backup_vault_fuzz::replay::main("decrypt", backup_vault_fuzz::targets::decrypt)
}
