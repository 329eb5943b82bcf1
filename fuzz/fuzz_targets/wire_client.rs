//! Fuzz target `wire_client`: see `backup_vault_fuzz::targets::wire_client` for what it checks.
//!
//! Under `cargo fuzz` (`--cfg fuzzing`) this is a libFuzzer target. In any
//! other build it replays files: `cargo run -p backup-vault-fuzz --bin wire_client -- [FILE|DIR]...`
//! (default: `fuzz/seeds/wire_client`).
#![cfg_attr(fuzzing, no_main)]

#[cfg(fuzzing)]
libfuzzer_sys::fuzz_target!(|data: &[u8]| backup_vault_fuzz::targets::wire_client(data));

#[cfg(not(fuzzing))]
fn main() {
    backup_vault_fuzz::replay::main("wire_client", backup_vault_fuzz::targets::wire_client)
}
