//! Fuzz target `runtime_inputs`: see `backup_vault_fuzz::runtime::runtime_inputs` for what it checks.
//!
//! Under `cargo fuzz` (`--cfg fuzzing`) this is a libFuzzer target. In any
//! other build it replays files: `cargo run -p backup-vault-fuzz --bin runtime_inputs -- [FILE|DIR]...`
//! (default: `fuzz/seeds/runtime_inputs`).
#![cfg_attr(fuzzing, no_main)]

#[cfg(fuzzing)]
libfuzzer_sys::fuzz_target!(|data: &[u8]| backup_vault_fuzz::runtime::runtime_inputs(data));

#[cfg(not(fuzzing))]
fn main() {
    backup_vault_fuzz::replay::main("runtime_inputs", backup_vault_fuzz::runtime::runtime_inputs)
}
