//! The invariant checkers the simulator runs after every step. Each module
//! holds the checks of one group of invariants (DESIGN.md section 3); the
//! world calls them and stops at the first [`Violation`].

pub mod acks;
pub mod answers;
pub mod backups;
pub mod budgets;
pub mod conduct;
pub mod consensus;
pub mod convergence;
pub mod deferrals;
pub mod device;
pub mod elections;
pub mod erasure;
pub mod exhaustion;
pub mod file_ids;
pub mod load;
pub mod lockout;
pub mod oracle;
pub mod resends;
pub mod secrets;
pub mod told;
pub mod unprovable_tail;

use backup_vault::invariant::Invariant;
use backup_vault::vault::ids::{NodeId, UserId};
use backup_vault::vault::protocol::LoginId;
use std::hash::{Hash, Hasher};

/// The smallest quorum of `nodes` nodes of which up to `rollback` may come
/// back with an older disk: the least k with 2k - N > R (any two quorums
/// share more than R nodes), computed here independently of
/// `backup_vault::vault::quorum`, so that a wrong quorum in the code does
/// not blind the checkers that count with it. N + 1 (no quorum) if none.
pub fn independent_quorum(nodes: u8, rollback: u8) -> usize {
    let (n, r) = (usize::from(nodes), usize::from(rollback));
    (1..=n).find(|k| 2 * k > n + r).unwrap_or(n + 1)
}

/// A broken invariant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// The invariant's ID (`LOCK-2`, `CONS-1`, ...: [`Invariant::id`]), or
    /// `PANIC` for an assertion inside the implementation.
    pub invariant: &'static str,
    /// The step at which it was seen.
    pub step: u64,
    /// The virtual time, ms.
    pub at_ms: u64,
    /// What was seen.
    pub message: String,
    /// The user concerned, if any.
    pub user: Option<u64>,
    /// The node concerned, if any.
    pub node: Option<u8>,
    /// The events that led to it, oldest first, one readable line each.
    pub leading: Vec<String>,
}

impl Violation {
    /// A violation about node `node`.
    pub fn node(invariant: Invariant, node: NodeId, message: String) -> Self {
        Violation {
            invariant: invariant.id(),
            step: 0,
            at_ms: 0,
            message,
            user: None,
            node: Some(node.0),
            leading: Vec::new(),
        }
    }

    /// A violation about user `user` (and node `node`, if one).
    pub fn user(invariant: Invariant, user: UserId, node: Option<NodeId>, message: String) -> Self {
        Violation {
            invariant: invariant.id(),
            step: 0,
            at_ms: 0,
            message,
            user: Some(user.0),
            node: node.map(|n| n.0),
            leading: Vec::new(),
        }
    }
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} violated at step {} ({} ms): {}",
            self.invariant, self.step, self.at_ms, self.message
        )
    }
}

/// What the world knows about a request it sent to the vault.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestInfo {
    /// The user the request names.
    pub user: UserId,
    /// Its kind (`login-start`, `login-finish`, `stage`, ...).
    pub kind: &'static str,
    /// For a `LoginFinish`, the login it names.
    pub login: Option<LoginId>,
    /// The step at which it was sent.
    pub sent: u64,
    /// What the answer may depend on.
    pub asked: answers::Asked,
    /// For a `RegistrationStart`, its blinded element; for a `LoginStart`,
    /// its KE1 (the OPRF inputs `oracle.rs` recomputes).
    pub input: Option<OprfInput>,
    /// The honest restore it belongs to, if any (LOCK-5).
    pub restore: Option<oracle::RestoreId>,
    /// Its process in the history, if one is kept.
    pub process: Option<u64>,
    /// How many copies of it the network delivered.
    pub copies: u32,
}

/// The OPRF input of a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OprfInput {
    /// A registration request's blinded element.
    Registration(backup_vault::opaque::RegistrationRequest),
    /// A KE1.
    Login(backup_vault::opaque::Ke1),
}

/// A deterministic 64-bit hash (SipHash with fixed keys).
pub fn hash_of<T: Hash + ?Sized>(value: &T) -> u64 {
    #[allow(deprecated)]
    let mut h = std::hash::SipHasher::new();
    value.hash(&mut h);
    h.finish()
}
