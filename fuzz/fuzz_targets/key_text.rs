//! Fuzz target `key_text`: see `backup_vault_fuzz::targets::key_text` for what it checks.
//!
//! Under `cargo fuzz` (`--cfg fuzzing`) this is a libFuzzer target. In any
//! other build it replays files: `cargo run -p backup-vault-fuzz --bin key_text -- [FILE|DIR]...`
//! (default: `fuzz/seeds/key_text`).
#![cfg_attr(fuzzing, no_main)]

#[cfg(fuzzing)]
libfuzzer_sys::fuzz_target!(|data: &[u8]| backup_vault_fuzz::targets::key_text(data));

#[cfg(not(fuzzing))]
fn main() {
    backup_vault_fuzz::replay::main("key_text", backup_vault_fuzz::targets::key_text)
}
