//! Deliberately broken variants of the code, for showing that checks bite.
//!
//! The variants exist only with the `flaws` cargo feature. Without it the
//! enums below have no variants at all, so an `Option<VaultFlaw>` in a
//! configuration can only be `None` and no broken code path can be reached.
//! Even with the feature, a flaw is inert unless an instance opts in (for
//! example [`crate::BackupParams::with_flaw`], `NodeConfig::flaw`,
//! `ClientConfig::flaw`): no global switch exists, so tests that run in
//! parallel cannot affect each other.
//!
//! Each variant names the invariant it breaks; `docs/invariants.md` lists
//! which check catches it and within what bound.

use serde::{Deserialize, Serialize};

/// A deliberate defect in the backup file format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum FormatFlaw {
    /// Never set the last-chunk flag in the nonce, on either side. A file cut
    /// at a chunk boundary then decrypts to a prefix of the plaintext (breaks FMT-1).
    #[cfg(feature = "flaws")]
    SkipLastChunkFlag,
}

/// A deliberate defect in the vault node (consensus, records, login rules).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum VaultFlaw {
    /// The leader sends KE2 as soon as it has proposed `ConsumeAttempt`,
    /// before the attempt is committed (breaks LOCK-2).
    #[cfg(feature = "flaws")]
    Ke2BeforeCommit,
    /// Staging a registration without proof of K keeps the active record
    /// and gives it a fresh guess budget, the CRYPTO 2023 hole (breaks
    /// LOCK-3 and, with enough guesses, LOCK-1).
    #[cfg(feature = "flaws")]
    ResetOnReregistration,
    /// Destroying an exhausted record writes the tombstone but keeps the
    /// active record, wrapped key included (breaks LOCK-4).
    #[cfg(feature = "flaws")]
    KeepKeyOnDestroy,
    /// A staged registration is guessable at once, before the client's
    /// activation proof (breaks REG-2).
    #[cfg(feature = "flaws")]
    StageIsGuessable,
    /// Pending logins are looked up by login id alone, so a KE3 sent under
    /// another user's name finishes that user's login (breaks REG-1).
    #[cfg(feature = "flaws")]
    LoginsKeyedByIdOnly,
    /// A pending login expires the moment it is created, so no login can
    /// ever finish (breaks LIVE-1).
    #[cfg(feature = "flaws")]
    LoginExpiresAtOnce,
    /// The leader commits an entry as soon as it holds it itself (breaks
    /// CONS-3 and CONS-4 when it then crashes).
    #[cfg(feature = "flaws")]
    CommitOnMinority,
    /// A vote is granted and answered without being persisted first, so a
    /// restarted node can vote twice in a term (breaks CONS-1).
    #[cfg(feature = "flaws")]
    VoteWithoutPersisting,
    /// A node grants every vote request of its current term, even after
    /// voting for another candidate (breaks CONS-1 on a split vote).
    #[cfg(feature = "flaws")]
    DoubleVote,
    /// Quorums are plain majorities whatever R is, so a rolled-back minority
    /// can undo a commit (breaks CONS-3).
    #[cfg(feature = "flaws")]
    IgnoreRollbackTolerance,
    /// A follower appends entries without checking the previous entry's
    /// term (breaks CONS-2).
    #[cfg(feature = "flaws")]
    SkipPrevTermCheck,
}

/// A deliberate defect in the client.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ClientFlaw {
    /// Backups are written and read with [`FormatFlaw::SkipLastChunkFlag`]
    /// (breaks FMT-1 when the cloud serves a truncated file).
    #[cfg(feature = "flaws")]
    SkipLastChunkFlag,
    /// The manifest carries K in the clear after its MAC (breaks KEY-1).
    #[cfg(feature = "flaws")]
    KeyInManifest,
    /// A restore accepts a backup older than the newest one the device was
    /// told is stored (breaks DUR-1).
    #[cfg(feature = "flaws")]
    AcceptOlderGeneration,
}

/// Every vault flaw, for command lines and sweeps.
pub const VAULT_FLAWS: &[VaultFlaw] = &[
    #[cfg(feature = "flaws")]
    VaultFlaw::Ke2BeforeCommit,
    #[cfg(feature = "flaws")]
    VaultFlaw::ResetOnReregistration,
    #[cfg(feature = "flaws")]
    VaultFlaw::KeepKeyOnDestroy,
    #[cfg(feature = "flaws")]
    VaultFlaw::StageIsGuessable,
    #[cfg(feature = "flaws")]
    VaultFlaw::LoginsKeyedByIdOnly,
    #[cfg(feature = "flaws")]
    VaultFlaw::LoginExpiresAtOnce,
    #[cfg(feature = "flaws")]
    VaultFlaw::CommitOnMinority,
    #[cfg(feature = "flaws")]
    VaultFlaw::VoteWithoutPersisting,
    #[cfg(feature = "flaws")]
    VaultFlaw::DoubleVote,
    #[cfg(feature = "flaws")]
    VaultFlaw::IgnoreRollbackTolerance,
    #[cfg(feature = "flaws")]
    VaultFlaw::SkipPrevTermCheck,
];

/// Every client flaw, for command lines and sweeps.
pub const CLIENT_FLAWS: &[ClientFlaw] = &[
    #[cfg(feature = "flaws")]
    ClientFlaw::SkipLastChunkFlag,
    #[cfg(feature = "flaws")]
    ClientFlaw::KeyInManifest,
    #[cfg(feature = "flaws")]
    ClientFlaw::AcceptOlderGeneration,
];

/// Whether `flaw` (an `Option<VaultFlaw>` or `Option<ClientFlaw>`) is the
/// variant named. Always false without the `flaws` feature, where the
/// variant does not even exist.
macro_rules! flaw_on {
    ($flaw:expr, $kind:ident :: $variant:ident) => {{
        #[cfg(feature = "flaws")]
        let on = $flaw == Some($crate::flaws::$kind::$variant);
        #[cfg(not(feature = "flaws"))]
        let on = {
            let _ = &$flaw;
            false
        };
        on
    }};
}
pub(crate) use flaw_on;

impl VaultFlaw {
    /// The flaw's name on command lines (kebab case).
    pub fn name(self) -> &'static str {
        match self {
            #[cfg(feature = "flaws")]
            VaultFlaw::Ke2BeforeCommit => "ke2-before-commit",
            #[cfg(feature = "flaws")]
            VaultFlaw::ResetOnReregistration => "reset-on-reregistration",
            #[cfg(feature = "flaws")]
            VaultFlaw::KeepKeyOnDestroy => "keep-key-on-destroy",
            #[cfg(feature = "flaws")]
            VaultFlaw::StageIsGuessable => "stage-is-guessable",
            #[cfg(feature = "flaws")]
            VaultFlaw::LoginsKeyedByIdOnly => "logins-keyed-by-id-only",
            #[cfg(feature = "flaws")]
            VaultFlaw::LoginExpiresAtOnce => "login-expires-at-once",
            #[cfg(feature = "flaws")]
            VaultFlaw::CommitOnMinority => "commit-on-minority",
            #[cfg(feature = "flaws")]
            VaultFlaw::VoteWithoutPersisting => "vote-without-persisting",
            #[cfg(feature = "flaws")]
            VaultFlaw::DoubleVote => "double-vote",
            #[cfg(feature = "flaws")]
            VaultFlaw::IgnoreRollbackTolerance => "ignore-rollback-tolerance",
            #[cfg(feature = "flaws")]
            VaultFlaw::SkipPrevTermCheck => "skip-prev-term-check",
        }
    }
}

impl ClientFlaw {
    /// The flaw's name on command lines (kebab case).
    pub fn name(self) -> &'static str {
        match self {
            #[cfg(feature = "flaws")]
            ClientFlaw::SkipLastChunkFlag => "skip-last-chunk-flag",
            #[cfg(feature = "flaws")]
            ClientFlaw::KeyInManifest => "key-in-manifest",
            #[cfg(feature = "flaws")]
            ClientFlaw::AcceptOlderGeneration => "accept-older-generation",
        }
    }
}
