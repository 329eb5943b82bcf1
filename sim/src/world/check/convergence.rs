//! LIVE-3, checked once the run's last operation is over: every node
//! catches up with the committed log.
//!
//! A follower that a leader never brings up to date breaks no safety
//! property and fails no login (a quorum without it commits and answers),
//! so neither the per-step checks nor LIVE-1 see it; yet it is one fault
//! away from a cluster that cannot commit. The target is the auditor's own
//! record, never a node's word: the highest index the checked ledger holds
//! without a gap (`Consensus::reference_index`) when the last operation
//! ended. Each node must then have applied at least that far within
//! [`CATCH_UP_MS`], with every fault healed; CONS-4 already checks that a
//! node's store at its applied index is the reference's.

use super::Violation;
use backup_vault::invariant::Invariant;
use backup_vault::vault::ids::{LogIndex, Millis, NodeId};

/// How long, in virtual time, every node has to apply the target: well
/// past what a healthy cluster needs. The slowest legitimate catch-up the
/// swarm draws is a follower a compaction interval (200 entries) behind at
/// an append batch of one and a 25 ms fsync: one round trip and one sync
/// per entry, about 6 s.
pub const CATCH_UP_MS: u64 = 20_000;

/// How often the world looks again while nodes catch up.
pub const POLL_MS: u64 = 250;

/// The catch-up in progress.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CatchUp {
    /// The index every node must apply.
    pub target: LogIndex,
    /// When the time is up.
    pub deadline: Millis,
}

impl CatchUp {
    /// A catch-up to `target`, starting at `now`.
    pub fn new(target: LogIndex, now: Millis) -> Self {
        CatchUp {
            target,
            deadline: now.plus(CATCH_UP_MS),
        }
    }

    /// Judges the nodes' applied indices at `now`: `Ok(true)` once every
    /// node has reached the target, `Ok(false)` while some lag and time
    /// is left, and the violation naming the furthest-behind node once
    /// the time is up.
    pub fn judge(
        &self,
        applied: impl IntoIterator<Item = (NodeId, LogIndex)>,
        now: Millis,
    ) -> Result<bool, Violation> {
        let behind = applied
            .into_iter()
            .filter(|(_, a)| *a < self.target)
            .min_by_key(|(id, a)| (*a, *id));
        let Some((id, applied)) = behind else {
            return Ok(true);
        };
        if now < self.deadline {
            return Ok(false);
        }
        Err(Violation::node(
            Invariant::Live3,
            id,
            format!(
                "{} s after the last operation, with every fault healed, n{} has applied up to index {} of the {} committed",
                CATCH_UP_MS / 1000,
                id.0,
                applied.0,
                self.target.0
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_node_behind_the_target_fails_only_once_the_time_is_up() {
        let c = CatchUp::new(LogIndex(10), Millis(1_000));
        let nodes = [(NodeId(0), LogIndex(10)), (NodeId(1), LogIndex(7))];
        assert_eq!(c.judge(nodes, Millis(1_000 + CATCH_UP_MS - 1)), Ok(false));
        let v = c
            .judge(nodes, Millis(1_000 + CATCH_UP_MS))
            .expect_err("n1 is behind when the time is up");
        assert_eq!((v.invariant, v.node), ("LIVE-3", Some(1)));
        assert!(v.message.contains("index 7 of the 10"), "{}", v.message);
    }

    #[test]
    fn every_node_at_or_past_the_target_is_caught_up() {
        let c = CatchUp::new(LogIndex(10), Millis(0));
        let nodes = [(NodeId(0), LogIndex(10)), (NodeId(1), LogIndex(12))];
        assert_eq!(c.judge(nodes, Millis(0)), Ok(true));
        assert_eq!(c.judge([], Millis(CATCH_UP_MS * 2)), Ok(true));
    }
}
