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
