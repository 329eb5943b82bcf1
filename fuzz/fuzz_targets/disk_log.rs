//! Fuzz target `disk_log`: see `backup_vault_fuzz::targets::disk_log` for what it checks.
//!
//! Under `cargo fuzz` (`--cfg fuzzing`) this is a libFuzzer target. In any
//! other build it replays files: `cargo run -p backup-vault-fuzz --bin disk_log -- [FILE|DIR]...`
//! (default: `fuzz/seeds/disk_log`).
#![cfg_attr(fuzzing, no_main)]

#[cfg(fuzzing)]
libfuzzer_sys::fuzz_target!(|data: &[u8]| backup_vault_fuzz::targets::disk_log(data));

#[cfg(not(fuzzing))]
fn main() {
    backup_vault_fuzz::replay::main("disk_log", backup_vault_fuzz::targets::disk_log)
}
