//! Fuzz target `hsm_seal`: see `backup_vault_fuzz::targets::hsm_seal` for what it checks.
//!
//! Under `cargo fuzz` (`--cfg fuzzing`) this is a libFuzzer target. In any
//! other build it replays files: `cargo run -p backup-vault-fuzz --bin hsm_seal -- [FILE|DIR]...`
//! (default: `fuzz/seeds/hsm_seal`).
#![cfg_attr(fuzzing, no_main)]

#[cfg(fuzzing)]
libfuzzer_sys::fuzz_target!(|data: &[u8]| backup_vault_fuzz::targets::hsm_seal(data));

#[cfg(not(fuzzing))]
fn main() {
    backup_vault_fuzz::replay::main("hsm_seal", backup_vault_fuzz::targets::hsm_seal)
}
