//! The quorum rule: the one place that decides how many nodes make a quorum.
//!
//! With `N` nodes of which up to `R` may come back from a crash with an older
//! disk (rolled back), a quorum is any set of more than `(N + R) / 2` nodes:
//!
//! ```text
//! quorum(N, R) = floor((N + R) / 2) + 1
//! ```
//!
//! Two quorums overlap in at least `2 * quorum - N > R` nodes, so every pair of
//! quorums shares at least one node whose disk was *not* rolled back. That
//! node remembers the committed entry (CONS-3) and the vote it cast (CONS-1),
//! so a rolled-back minority cannot undo a commit or elect a second leader in
//! a term. With `R = 0` this is the usual majority.
//!
//! | N | R | quorum | node failures tolerated |
//! |---|---|--------|-------------------------|
//! | 3 | 0 | 2 | 1 |
//! | 3 | 1 | 3 | 0 |
//! | 5 | 0 | 3 | 2 |
//! | 5 | 1 | 4 | 1 |
//! | 7 | 0 | 4 | 3 |
//! | 7 | 1 | 5 | 2 |
//! | 7 | 2 | 5 | 2 |

use super::ids::NodeId;
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Largest cluster this implementation accepts.
pub const MAX_NODES: u8 = 9;

/// Cluster size and rollback tolerance, validated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ClusterConfig {
    nodes: u8,
    rollback_tolerance: u8,
}

/// Why a cluster configuration is refused.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum ConfigError {
    /// N is 0 or larger than [`MAX_NODES`].
    #[error("cluster size {0} is out of range 1..={MAX_NODES}")]
    Size(u8),
    /// R is so large that a quorum would need more nodes than exist.
    #[error("rollback tolerance {r} needs a quorum of {quorum} but the cluster has {n} nodes")]
    Tolerance {
        /// N.
        n: u8,
        /// R.
        r: u8,
        /// The quorum R would need.
        quorum: u8,
    },
}

impl ClusterConfig {
    /// The default: 5 nodes, one per data center, plain majority.
    pub const DEFAULT: ClusterConfig = ClusterConfig {
        nodes: 5,
        rollback_tolerance: 0,
    };

    /// Validates `N` nodes with rollback tolerance `R`.
    ///
    /// # Errors
    /// [`ConfigError`] if N is out of range or the quorum would exceed N.
    pub fn new(nodes: u8, rollback_tolerance: u8) -> Result<Self, ConfigError> {
        if nodes == 0 || nodes > MAX_NODES {
            return Err(ConfigError::Size(nodes));
        }
        let quorum = (nodes + rollback_tolerance) / 2 + 1;
        if quorum > nodes {
            return Err(ConfigError::Tolerance {
                n: nodes,
                r: rollback_tolerance,
                quorum,
            });
        }
        Ok(ClusterConfig {
            nodes,
            rollback_tolerance,
        })
    }

    /// N.
    pub fn nodes(self) -> u8 {
        self.nodes
    }

    /// R.
    pub fn rollback_tolerance(self) -> u8 {
        self.rollback_tolerance
    }

    /// The quorum size: `floor((N + R) / 2) + 1`.
    pub fn quorum(self) -> usize {
        usize::from((self.nodes + self.rollback_tolerance) / 2 + 1)
    }

    /// How many nodes, other than one whose disk lost entries it had
    /// acknowledged, must show from their HSMs' counters that they never
    /// held those entries before they are known never to have been
    /// committed: `N - quorum + 1 + R` (see [`crate::vault::raft::watermark`]).
    ///
    /// A commit needs `quorum` holders, so `N - quorum + 1` nodes that never
    /// held an entry rule its commit out; `R` more allow for nodes whose
    /// HSM was replaced (a new counter starts empty) while their disk went
    /// back: their word says nothing, and R counts them. When this exceeds
    /// `N - 1` (N = 2, R = 1), no proof is possible and such a node waits
    /// for a node that holds its lost entries.
    pub fn never_held_to_rule_out_a_commit(self) -> usize {
        usize::from(self.nodes) - self.quorum() + 1 + usize::from(self.rollback_tolerance)
    }

    /// Every node id, in order.
    pub fn members(self) -> impl Iterator<Item = NodeId> {
        (0..self.nodes).map(NodeId)
    }
}

impl Default for ClusterConfig {
    fn default() -> Self {
        ClusterConfig::DEFAULT
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_in_the_module_doc_is_right() {
        for (n, r, q) in [
            (3, 0, 2),
            (3, 1, 3),
            (5, 0, 3),
            (5, 1, 4),
            (7, 0, 4),
            (7, 1, 5),
            (7, 2, 5),
        ] {
            assert_eq!(ClusterConfig::new(n, r).unwrap().quorum(), q, "N={n} R={r}");
        }
    }

    #[test]
    fn a_lost_tail_is_ruled_out_only_past_every_quorum_and_r_liars() {
        for n in 1..=MAX_NODES {
            for r in 0..n {
                let Ok(c) = ClusterConfig::new(n, r) else {
                    continue;
                };
                let k = c.never_held_to_rule_out_a_commit();
                // Honest non-holders among the k leave fewer than a quorum
                // of possible holders, even if R of the k lie.
                assert!(
                    usize::from(n) - (k - usize::from(r)) < c.quorum(),
                    "N={n} R={r}"
                );
                // One node fewer would not: R liars could hide a commit.
                assert!(
                    usize::from(n) - (k - 1 - usize::from(r)) >= c.quorum(),
                    "N={n} R={r}"
                );
            }
        }
        assert_eq!(
            ClusterConfig::new(3, 1)
                .unwrap()
                .never_held_to_rule_out_a_commit(),
            2
        );
        assert_eq!(
            ClusterConfig::new(5, 0)
                .unwrap()
                .never_held_to_rule_out_a_commit(),
            3
        );
    }

    #[test]
    fn any_two_quorums_share_more_than_r_nodes() {
        for n in 1..=MAX_NODES {
            for r in 0..n {
                let Ok(c) = ClusterConfig::new(n, r) else {
                    continue;
                };
                assert!(
                    2 * c.quorum() - usize::from(n) > usize::from(r),
                    "N={n} R={r}"
                );
            }
        }
    }

    #[test]
    fn impossible_configs_are_refused() {
        assert_eq!(ClusterConfig::new(0, 0), Err(ConfigError::Size(0)));
        assert!(ClusterConfig::new(3, 3).is_err());
        assert!(ClusterConfig::new(10, 0).is_err());
    }
}
