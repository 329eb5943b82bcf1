//! The vault history of a run and its checks: the `backup-vault-history`
//! crate, which the runtime's real-process tests share.

pub use backup_vault_history::*;
