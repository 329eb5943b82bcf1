//! Identifiers and counters of the vault, as newtypes so they cannot be
//! mixed up: every id the vault, its clients and its drivers exchange is
//! defined here.

use core::fmt;
use rand_core::RngCore;
use serde::{Deserialize, Serialize};

/// A vault node, numbered from 0 within its cluster.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct NodeId(pub u8);

/// A user, as the chat server names the account. Every registration and
/// login message carries one, and it is bound into the OPAQUE exchange (REG-1).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct UserId(pub u64);

/// A consensus term. Terms only grow; at most one leader per term (CONS-1).
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Term(pub u64);

/// A position in the replicated log, from 1; index 0 is "before the first entry".
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct LogIndex(pub u64);

/// Milliseconds of the driver's clock: virtual time in the simulator, a
/// monotonic clock in the real runtime. The node never reads a clock itself.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Millis(pub u64);

/// Who sent a client request, as the driver names the connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ClientId(pub u64);

/// The driver's number for one request of one client, echoed in the reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RequestId(pub u64);

/// Identifies one login between KE2 and KE3; chosen by the leader.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct LoginId(pub u64);

/// Identifies a write within one incarnation of a node; increases by one per write.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
pub struct WriteId(pub u64);

/// A random identifier of one registration of one user, chosen by the leader
/// when it stages the registration. Every proof of key names the
/// registration it is about, so no proof can be replayed against another.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RegistrationId(pub u64);

/// Length of an [`OprfKeyId`].
pub const OPRF_KEY_ID_LEN: usize = 16;

/// Names the OPRF key one registration's password file is made under.
///
/// The leader draws 128 fresh random bits for every `RegistrationStart`, so
/// a registration request is never evaluated under the key of a record that
/// already exists: asking for it is not a password test against anything.
/// The real key is derived inside the HSM from the fleet's OPRF seed, the
/// user id and this id (`opaque_crypto::credential_id`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct OprfKeyId(pub [u8; OPRF_KEY_ID_LEN]);

impl OprfKeyId {
    /// A fresh key id from `rng`.
    pub fn random<R: RngCore>(rng: &mut R) -> Self {
        let mut id = [0u8; OPRF_KEY_ID_LEN];
        rng.fill_bytes(&mut id);
        OprfKeyId(id)
    }
}

impl fmt::Debug for OprfKeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "OprfKeyId({})", hex::encode(&self.0[..6]))
    }
}

impl Term {
    /// The next term.
    pub fn next(self) -> Term {
        Term(self.0 + 1)
    }
}

impl LogIndex {
    /// The next index.
    pub fn next(self) -> LogIndex {
        LogIndex(self.0 + 1)
    }

    /// The previous index, saturating at 0.
    pub fn prev(self) -> LogIndex {
        LogIndex(self.0.saturating_sub(1))
    }
}

impl Millis {
    /// This time plus `ms` milliseconds.
    pub fn plus(self, ms: u64) -> Millis {
        Millis(self.0.saturating_add(ms))
    }
}

macro_rules! show {
    ($t:ty, $prefix:literal) => {
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!($prefix, "{}"), self.0)
            }
        }
        impl fmt::Debug for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(self, f)
            }
        }
    };
}

show!(NodeId, "n");
show!(UserId, "u");
show!(Term, "t");
show!(LogIndex, "i");
show!(Millis, "@");
