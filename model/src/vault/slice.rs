//! The model checker's slice: a few small bounds, each explored
//! exhaustively, that together reach what the full bound cannot within a
//! CI budget: commits, logins, destructions, leader changes, snapshots and
//! rollbacks, with the node's own code in the loop.
//!
//! Why slices and not one deep search: the full bound (`VaultBounds::default`)
//! branches on every fault and client action at every step, and a command
//! needs about eight steps to commit at three nodes, so a search that fits a
//! CI budget ends before the first commit and proves nothing (its
//! `sometimes` properties have no example). Each slice switches on only the
//! actions its scenario needs (swarm style) and goes deep enough that every
//! `sometimes` property its bounds allow has an example; a slice that does
//! not reach one is not a pass ([`crate::run::Proved`]).
//!
//! The slice is the model checker's part of the mutation oracle
//! (`scripts/mutants.py`) and of CI (`bvault-suite check slice`).

use super::{Timers, VaultBounds};

/// One slice: bounds, a depth, and what it is for.
#[derive(Clone, Debug)]
pub struct Slice {
    /// A short name (`check slice --only NAME`).
    pub name: &'static str,
    /// What the slice reaches, and which mistakes it is there to catch.
    pub purpose: &'static str,
    /// The bounds.
    pub bounds: VaultBounds,
    /// Steps taken before the search (empty: it starts at the initial
    /// state), each the first enabled action whose description contains
    /// the text ([`super::VaultModel::try_after`]): a scenario too deep
    /// for a breadth-first search from the start, with the search
    /// exhaustive from where it leads. Code that takes another path than
    /// the one written here leaves the slice unable to start, which proves
    /// nothing (as a missing example does).
    pub steering_path: &'static [&'static str],
    /// Longest path after the steering path, in steps (breadth-first, so
    /// exhaustive to it), or `None`: the whole space, every path of any
    /// length. A slice searched whole bounds its timers and the owner's
    /// activations ([`super::Timers`]), so that its space ends.
    pub depth: Option<usize>,
}

/// Every slice, cheapest first.
pub fn slices() -> Vec<Slice> {
    vec![
        Slice {
            name: "login",
            purpose: "the owner logs in at 3 nodes (R = 0): a guess commits at a quorum before \
                      KE2, KE3 resets the count; a missing commit or quorum step breaks LOCK-2",
            bounds: VaultBounds {
                logins: 1,
                rollback_tolerance: 0,
                ..VaultBounds::quiet()
            },
            steering_path: &[],
            depth: None,
        },
        Slice {
            name: "destruction",
            purpose: "an attacker spends a budget of 1 at 3 nodes (R = 0) and guesses again: \
                      the record is destroyed and never tested again (a lockout off-by-one \
                      breaks LOCK-1 or LOCK-4)",
            bounds: VaultBounds {
                guess_limit: 1,
                guesses: 2,
                rollback_tolerance: 0,
                ..VaultBounds::quiet()
            },
            steering_path: &[],
            depth: None,
        },
        Slice {
            name: "destruction R1",
            purpose: "the same at 3 nodes with R = 1, where a quorum is all three: a quorum \
                      computed as a majority releases KE2 with the attempt on two disks \
                      (LOCK-2, counted by the observer itself)",
            bounds: VaultBounds {
                guess_limit: 1,
                guesses: 2,
                rollback_tolerance: 1,
                ..VaultBounds::quiet()
            },
            steering_path: &[],
            depth: None,
        },
        Slice {
            name: "exhaustion",
            purpose: "one node spends a budget of 1 and its login expires: Exhaust destroys \
                      the record with no further guess (LOCK-4's timing rule)",
            bounds: VaultBounds {
                nodes: 1,
                guess_limit: 1,
                guesses: 1,
                rollback_tolerance: 0,
                timers: Timers::Unbounded,
                ..VaultBounds::quiet()
            },
            steering_path: &[],
            depth: Some(12),
        },
        Slice {
            name: "election",
            purpose: "3 nodes with timers and a crash (R = 0): a follower campaigns and a new \
                      leader is elected; vote, term and log-matching mistakes break CONS-1, \
                      CONS-2 or CONS-3",
            bounds: VaultBounds {
                timers: Timers::Unbounded,
                crashes: 1,
                rollback_tolerance: 0,
                ..VaultBounds::quiet()
            },
            steering_path: &[],
            depth: Some(8),
        },
        Slice {
            name: "snapshot",
            purpose: "a compaction after every applied entry at 3 nodes (R = 0), with a crash \
                      and a login: nodes compact, and a store is replaced by a snapshot (at a \
                      restart or from the leader)",
            bounds: VaultBounds {
                snapshot_every: 1,
                crashes: 1,
                logins: 1,
                rollback_tolerance: 0,
                ..VaultBounds::quiet()
            },
            steering_path: &[],
            depth: None,
        },
        Slice {
            name: "delete",
            purpose: "the owner changes its password and deletes, at one node, and an attacker \
                      stages a registration of its own: the delete names the active or the \
                      staged registration, and may be decided before or after the activation in \
                      flight or the attacker's stage; a delete that takes the wrong \
                      registration (one it does not name, or one staged after it was checked) \
                      breaks CONS-4, and one that takes neither leaves a delete property without \
                      an example",
            bounds: VaultBounds {
                nodes: 1,
                changes: 1,
                deletes: 1,
                reregistrations: 1,
                rollback_tolerance: 0,
                activations: Some(2),
                ..VaultBounds::quiet()
            },
            steering_path: &[],
            depth: None,
        },
        Slice {
            name: "activation",
            purpose: "the owner changes its password at one node, and the chat server, which saw \
                      the stage go by, activates it with a proof under its own key, replays the \
                      owner's requests, and stages a registration of its own and sends that \
                      stage again: an activation the node takes without the staged \
                      registration's own proof is answered Activated where the rules refuse it \
                      (CONS-4), and resets the count without an authenticated change (LOCK-3); a \
                      resent stage must get the answer the first one got",
            bounds: VaultBounds {
                nodes: 1,
                changes: 1,
                forged_activations: 1,
                replays: 1,
                reregistrations: 1,
                rollback_tolerance: 0,
                activations: Some(2),
                ..VaultBounds::quiet()
            },
            steering_path: &[],
            depth: None,
        },
        Slice {
            name: "ticket reuse",
            purpose: "the chat server re-registers the owner's account at one node, activates \
                      its registration, and as the holder of that K stages a registration made \
                      under a ticket of the owner's that it relayed and kept (the first \
                      registration's, or a password change's): a stage with a proof of K whose \
                      ticket is spent is answered Staged where the rules refuse it (CONS-4), \
                      and puts a second registration under the owner's OPRF key (LOCK-1)",
            bounds: VaultBounds {
                nodes: 1,
                changes: 1,
                activations: Some(2),
                reregistrations: 1,
                ticket_reuses: 1,
                rollback_tolerance: 0,
                ..VaultBounds::quiet()
            },
            steering_path: &[],
            depth: None,
        },
        Slice {
            name: "login and change",
            purpose: "the owner logs in at one node and changes its password before it sends \
                      KE3: a login against a registration replaced since it began must not \
                      finish (it would reset the new registration's count on a proof made for \
                      the old one, LOCK-3; the history check sees LoginOk where the rules \
                      answer LoginExpired, CONS-4)",
            bounds: VaultBounds {
                nodes: 1,
                logins: 1,
                changes: 1,
                rollback_tolerance: 0,
                activations: Some(2),
                ..VaultBounds::quiet()
            },
            steering_path: &[],
            depth: None,
        },
        Slice {
            name: "read barrier",
            purpose: "steered: n0 leads at 3 nodes (R = 0) with its log all committed; n1 and n2 \
                      stop hearing from it, elect n1 and commit the owner's password change \
                      there, of which n0 knows nothing; then every action. n0, asked to activate \
                      the staged registration, finds none: an answer read from its store before \
                      an entry of its own term commits after the read (the read barrier) is \
                      stale (CONS-4)",
            bounds: VaultBounds {
                changes: 1,
                timers: Timers::Unbounded,
                rollback_tolerance: 0,
                ..VaultBounds::quiet()
            },
            steering_path: &READ_BARRIER_PATH,
            depth: Some(4),
        },
    ]
}

/// The read barrier slice's steering path: n1 elected by n2's votes while
/// n0 still leads, its term's no-op committed, then the owner's change
/// staged and committed at n1 and n2.
const READ_BARRIER_PATH: [&str; 17] = [
    "n2 timer fires",
    "n1 timer fires",
    "deliver n1->n2 PreVote",
    "deliver n2->n1 PreVoteReply",
    "n1 disk syncs",
    "deliver n1->n2 RequestVote",
    "n2 disk syncs",
    "deliver n2->n1 Vote",
    "n1 disk syncs",
    "deliver n1->n2 Append",
    "n2 disk syncs",
    "deliver n2->n1 AppendReply",
    "client -> n1: Change { relay: Honest }",
    "n1 disk syncs",
    "deliver n1->n2 Append",
    "n2 disk syncs",
    "deliver n2->n1 AppendReply",
];
