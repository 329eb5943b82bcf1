//! Fuzz target `vault_node`: see `backup_vault_fuzz::vault_node::vault_node` for what it checks.
//!
//! Under `cargo fuzz` (`--cfg fuzzing`) this is a libFuzzer target. In any
//! other build it replays files: `cargo run -p backup-vault-fuzz --bin vault_node -- [FILE|DIR]...`
//! (default: `fuzz/seeds/vault_node`).
#![cfg_attr(fuzzing, no_main)]

#[cfg(fuzzing)]
libfuzzer_sys::fuzz_target!(|data: &[u8]| backup_vault_fuzz::vault_node::vault_node(data));

#[cfg(not(fuzzing))]
fn main() {
    backup_vault_fuzz::replay::main("vault_node", backup_vault_fuzz::vault_node::vault_node)
}
