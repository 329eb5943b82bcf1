//! The client's retry policy, in one place: how long to wait for an answer,
//! and which vault node to ask.
//!
//! - **Timeouts back off.** The n-th send of one request waits
//!   `min(first · 2^(n-1), max)` plus a random jitter of up to a quarter of
//!   that, so that many clients that lost the same leader do not all come
//!   back in the same millisecond (as TigerBeetle's client and most RPC
//!   stacks do).
//! - **The client keeps the leader hint** (as TigerBeetle's client keeps its
//!   view): a `NotLeader` that names a leader sends the request there at
//!   once; one that names none (an election is on) moves to the next node
//!   but waits for the timeout, so the retry budget is not spent within
//!   milliseconds; a timeout moves to the next node.

use crate::vault::ids::{Millis, NodeId};
use rand_core::RngCore;

/// When to give up waiting for one send, and try again.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Backoff {
    /// The wait after the first send, in milliseconds.
    pub first_ms: u64,
    /// The longest wait, before jitter, in milliseconds.
    pub max_ms: u64,
}

impl Backoff {
    /// 1 s, doubling up to 4 s.
    pub const DEFAULT: Backoff = Backoff {
        first_ms: 1_000,
        max_ms: 4_000,
    };

    /// The deadline of send number `send` (1 for the first) made at `now`.
    pub fn deadline(&self, send: u32, now: Millis, rng: &mut impl RngCore) -> Millis {
        let doublings = send.saturating_sub(1).min(32);
        let wait = self
            .first_ms
            .saturating_mul(1u64 << doublings)
            .min(self.max_ms.max(self.first_ms));
        let jitter = rng.next_u64() % (wait / 4 + 1);
        now.plus(wait + jitter)
    }
}

/// Which vault node the client asks: its leader hint.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Route {
    leader: NodeId,
    nodes: u8,
}

impl Route {
    /// A route over nodes `0..nodes`, starting with node 0.
    pub fn new(nodes: u8) -> Self {
        Route {
            leader: NodeId(0),
            nodes: nodes.max(1),
        }
    }

    /// A route over nodes `0..nodes` that tries `leader` first.
    pub fn starting_at(nodes: u8, leader: NodeId) -> Self {
        let mut route = Route::new(nodes);
        if leader.0 < route.nodes {
            route.leader = leader;
        }
        route
    }

    /// The node to send to.
    pub fn leader(&self) -> NodeId {
        self.leader
    }

    /// A node said it does not lead. Returns whether to resend at once
    /// (it named the leader) rather than wait for the timeout.
    pub fn not_leader(&mut self, leader: Option<NodeId>) -> bool {
        match leader {
            Some(l) if l.0 < self.nodes => {
                self.leader = l;
                true
            }
            _ => {
                self.next();
                false
            }
        }
    }

    /// No answer came in time: try the next node.
    pub fn next(&mut self) {
        self.leader = NodeId((self.leader.0 + 1) % self.nodes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::rand_core::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn waits_double_up_to_the_cap_with_bounded_jitter() {
        let b = Backoff::DEFAULT;
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        for (send, wait) in [(1, 1_000), (2, 2_000), (3, 4_000), (4, 4_000), (40, 4_000)] {
            for _ in 0..50 {
                let d = b.deadline(send, Millis(10), &mut rng).0 - 10;
                assert!((wait..=wait + wait / 4).contains(&d), "send {send}: {d}");
            }
        }
    }

    #[test]
    fn the_jitter_spreads_the_wait() {
        let b = Backoff::DEFAULT;
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let waits: Vec<u64> = (0..200)
            .map(|_| b.deadline(1, Millis(0), &mut rng).0)
            .collect();
        let (min, max) = (waits.iter().min().unwrap(), waits.iter().max().unwrap());
        // Up to a quarter of the wait: 1,000 to 1,250 ms, and spread over it.
        assert!(*min < 1_050 && *max > 1_200, "{min}..{max}");
    }

    #[test]
    fn a_route_may_start_at_a_known_leader_within_the_cluster() {
        assert_eq!(Route::starting_at(3, NodeId(2)).leader(), NodeId(2));
        assert_eq!(Route::starting_at(3, NodeId(0)).leader(), NodeId(0));
        assert_eq!(Route::starting_at(3, NodeId(3)).leader(), NodeId(0));
        let mut r = Route::new(3);
        assert!(
            !r.not_leader(Some(NodeId(3))),
            "no node 3 in a 3-node cluster"
        );
    }

    #[test]
    fn a_named_leader_is_tried_at_once_and_an_unknown_one_waits() {
        let mut r = Route::new(3);
        assert!(r.not_leader(Some(NodeId(2))));
        assert_eq!(r.leader(), NodeId(2));
        assert!(!r.not_leader(None));
        assert_eq!(r.leader(), NodeId(0));
        // A leader outside the cluster is not believed.
        assert!(!r.not_leader(Some(NodeId(9))));
        assert_eq!(r.leader(), NodeId(1));
        r.next();
        r.next();
        assert_eq!(r.leader(), NodeId(0));
    }
}
