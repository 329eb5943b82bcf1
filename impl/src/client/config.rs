//! What a client is configured with before it talks to anyone.

use super::retry::Backoff;
use crate::flaws::ClientFlaw;
use crate::format::ChunkSize;
use crate::opaque::{FleetPublicKey, KsfParams};

/// The client's fixed settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ClientConfig {
    /// The vault fleet's public key, pinned in the app. A vault that presents
    /// another key is refused before any password-derived value is sent.
    pub fleet_key: FleetPublicKey,
    /// The password-hardening cost; must stay the same across registration
    /// and login (a change needs a password change).
    pub ksf: KsfParams,
    /// Plaintext bytes per chunk of a backup file.
    pub chunk_size: ChunkSize,
    /// How many times one request is sent (the first send included) before
    /// the operation fails with `VaultUnavailable` or `CloudUnavailable`.
    /// Counts timeouts, `NotLeader`, `Retry` and cloud `Unavailable` answers.
    pub max_attempts: u32,
    /// How many times one operation starts over when its peer answers that
    /// its progress was lost: a login after `LoginExpired` to its finish, a
    /// registration after its staging was refused for a used-up ticket or a
    /// foreign evaluation, or its activation for an unknown registration or
    /// a bad proof, a backup after a conflict in the cloud (its object lost,
    /// damaged or taken, or the manifest naming another generation). One
    /// restart more fails the operation (with the vault's answer, or
    /// `CloudUnavailable` for a backup), never with a false success.
    pub restarts: Restarts,
    /// How many vault nodes there are (`NodeId(0)` up to `vault_nodes - 1`):
    /// the nodes the client tries in turn while it does not know the leader.
    pub vault_nodes: u8,
    /// How long to wait for an answer before sending again.
    pub backoff: Backoff,
    /// A deliberately broken variant to run instead of the correct code;
    /// always `None` unless built with the `flaws` feature (see [`crate::flaws`]).
    pub flaw: Option<ClientFlaw>,
}

impl ClientConfig {
    /// Default retry budget: a request is sent at most this many times.
    pub const DEFAULT_MAX_ATTEMPTS: u32 = 6;

    /// A configuration with the default chunk size, retry budget and
    /// backoff, for a vault of one node (set `vault_nodes` for more).
    pub fn new(fleet_key: FleetPublicKey, ksf: KsfParams) -> Self {
        ClientConfig {
            fleet_key,
            ksf,
            chunk_size: ChunkSize::DEFAULT,
            max_attempts: Self::DEFAULT_MAX_ATTEMPTS,
            restarts: Restarts::DEFAULT,
            vault_nodes: 1,
            backoff: Backoff::DEFAULT,
            flaw: None,
        }
    }

    /// The part of this configuration the OPAQUE client needs.
    pub fn opaque(&self) -> crate::opaque::client::ClientConfig {
        crate::opaque::client::ClientConfig {
            fleet_key: self.fleet_key,
            ksf: self.ksf,
        }
    }
}

/// How often one operation starts over before it gives up
/// ([`ClientConfig::restarts`]). Each is a number of restarts, not of sends:
/// every request of a restarted operation has its own `max_attempts`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Restarts {
    /// A password login restarts from `LoginStart` (with the same KE1, which
    /// the vault counted once) after `LoginExpired` to its `LoginFinish`.
    pub login: u32,
    /// A registration starts over from `RegistrationStart` after its staging
    /// or activation was overtaken.
    pub registration: u32,
    /// A backup re-puts its object, takes the next generation or re-puts
    /// its manifest after a conflict in the cloud.
    pub backup_conflicts: u32,
}

impl Restarts {
    /// The budgets the app ships with.
    pub const DEFAULT: Restarts = Restarts {
        login: 3,
        registration: 2,
        backup_conflicts: 8,
    };
}
