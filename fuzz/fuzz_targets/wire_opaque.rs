//! Fuzz target `wire_opaque`: see `backup_vault_fuzz::targets::wire_opaque` for what it checks.
//!
//! Under `cargo fuzz` (`--cfg fuzzing`) this is a libFuzzer target. In any
//! other build it replays files: `cargo run -p backup-vault-fuzz --bin wire_opaque -- [FILE|DIR]...`
//! (default: `fuzz/seeds/wire_opaque`).
#![cfg_attr(fuzzing, no_main)]

#[cfg(fuzzing)]
libfuzzer_sys::fuzz_target!(|data: &[u8]| backup_vault_fuzz::targets::wire_opaque(data));

#[cfg(not(fuzzing))]
fn main() {
    backup_vault_fuzz::replay::main("wire_opaque", backup_vault_fuzz::targets::wire_opaque)
}
