//! LOAD-1: a leader that cannot answer yet holds a bounded number of
//! requests.
//!
//! A new leader answers from its store only once an entry of its own term
//! is applied (the term-start no-op), so until then it holds the requests
//! it gets; past a bound it answers `Retry` (`docs/protocol.md`: "wait in a
//! bounded queue (256); beyond that, `Retry`"). Without the bound, whoever
//! can send requests (any client, the chat server replaying what it
//! relayed) grows a node's memory without limit while an election settles,
//! or for as long as a cut-off leader takes to step down.
//!
//! Judged from outside the node: the requests delivered to it and the
//! answers it gave in the same step, and whether its term is open, read
//! from its log (the term at its applied index), never from its queue or
//! its own idea of serving. The bound is restated here from the protocol
//! text, not taken from the node's constant.

use super::Violation;
use backup_vault::invariant::Invariant;
use backup_vault::vault::crypto::VaultCrypto;
use backup_vault::vault::ids::{NodeId, Term};
use backup_vault::vault::node::{ClientId, Reply, RequestId, VaultNode};
use backup_vault::vault::raft::Role;
use std::collections::BTreeMap;

/// How many requests a leader that cannot answer yet may hold, as
/// `docs/protocol.md` states it.
pub const HELD_BOUND: usize = 256;

/// Whether node `node` has applied an entry of its current term, read from
/// its log: terms only grow along a log, so the term is open once the
/// entry at the applied index is of it.
pub fn term_open<C: VaultCrypto>(node: &VaultNode<C>) -> bool {
    let raft = node.raft();
    raft.log().term_at(node.applied()) == Some(raft.term())
}

/// What one leader holds in the term it has not opened yet.
struct Leadership {
    term: Term,
    incarnation: u32,
    /// Each request delivered and not answered, with its copies (a
    /// duplicating network delivers one request twice, and both are held).
    held: BTreeMap<(ClientId, RequestId), u32>,
    /// How many copies that is.
    copies: usize,
    /// Whether it held the bound's worth at some point.
    filled: bool,
}

impl Leadership {
    fn new(term: Term, incarnation: u32) -> Self {
        Leadership {
            term,
            incarnation,
            held: BTreeMap::new(),
            copies: 0,
            filled: false,
        }
    }
}

/// The requests held by each leader whose term is not open yet.
#[derive(Default)]
pub struct Load {
    leaders: BTreeMap<NodeId, Leadership>,
}

impl Load {
    /// After a step of node `id` (its `incarnation`-th run since the start):
    /// `delivered` is the request the step handled, if any, and `replies`
    /// what the node answered in it. Returns whether the node came to hold
    /// the bound's worth, the first time in this leadership (a coverage
    /// counter: the bound reached).
    ///
    /// # Errors
    /// A LOAD-1 violation once a leader that cannot answer yet holds more
    /// than [`HELD_BOUND`] requests.
    pub fn after_step<C: VaultCrypto>(
        &mut self,
        id: NodeId,
        incarnation: u32,
        node: &VaultNode<C>,
        delivered: Option<(ClientId, RequestId)>,
        replies: &[(NodeId, Reply<C>)],
    ) -> Result<bool, Violation> {
        let raft = node.raft();
        let waiting = (raft.role() == Role::Leader && !term_open(node)).then(|| raft.term());
        let answered = replies
            .iter()
            .filter(|(from, _)| *from == id)
            .map(|(_, r)| (r.to, r.request));
        self.observe(id, incarnation, waiting, delivered, answered)
            .map_err(|held| {
                Violation::node(
                    Invariant::Load1,
                    id,
                    format!(
                        "n{}, leader of term {} with no entry of its term applied (applied index {}), holds {held} requests without an answer: past the bound of {HELD_BOUND}, beyond which it must answer Retry",
                        id.0,
                        raft.term().0,
                        node.applied().0,
                    ),
                )
            })
    }

    /// The counting behind [`Load::after_step`]: `waiting` is the term node
    /// `id` leads without having opened it, or `None` if it does not (it
    /// follows, or its term is open). Returns whether the bound was reached
    /// for the first time in this leadership; `Err` with the number held
    /// once it is past the bound.
    fn observe(
        &mut self,
        id: NodeId,
        incarnation: u32,
        waiting: Option<Term>,
        delivered: Option<(ClientId, RequestId)>,
        answered: impl Iterator<Item = (ClientId, RequestId)>,
    ) -> Result<bool, usize> {
        let Some(term) = waiting else {
            self.leaders.remove(&id);
            return Ok(false);
        };
        // A new term, or the node restarted: a new leadership.
        let leadership = self
            .leaders
            .entry(id)
            .and_modify(|l| {
                if l.term != term || l.incarnation != incarnation {
                    *l = Leadership::new(term, incarnation);
                }
            })
            .or_insert_with(|| Leadership::new(term, incarnation));
        if let Some(request) = delivered {
            *leadership.held.entry(request).or_insert(0) += 1;
            leadership.copies += 1;
        }
        for key in answered {
            if let Some(n) = leadership.held.get_mut(&key) {
                *n -= 1;
                leadership.copies -= 1;
                if *n == 0 {
                    leadership.held.remove(&key);
                }
            }
        }
        if leadership.copies > HELD_BOUND {
            return Err(leadership.copies);
        }
        let filled = leadership.copies == HELD_BOUND && !leadership.filled;
        leadership.filled |= filled;
        Ok(filled)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const N: NodeId = NodeId(1);

    fn req(client: u64, request: u64) -> (ClientId, RequestId) {
        (ClientId(client), RequestId(request))
    }

    /// Delivers `n` requests (distinct ids from `first`) to N, leading
    /// `term` unopened, none answered; returns the last outcome.
    fn deliver(load: &mut Load, term: u64, first: u64, n: u64) -> Result<bool, usize> {
        let mut last = Ok(false);
        for i in first..first + n {
            last = load.observe(N, 0, Some(Term(term)), Some(req(7, i)), std::iter::empty());
        }
        last
    }

    #[test]
    fn the_bound_held_is_allowed_and_one_more_is_not() {
        let mut load = Load::default();
        assert_eq!(deliver(&mut load, 3, 0, 255), Ok(false));
        assert_eq!(deliver(&mut load, 3, 255, 1), Ok(true), "the bound reached");
        // Answered at once (Retry), the next one is not held.
        let answered = load.observe(
            N,
            0,
            Some(Term(3)),
            Some(req(7, 900)),
            [req(7, 900)].into_iter(),
        );
        assert_eq!(answered, Ok(false), "counted once");
        assert_eq!(deliver(&mut load, 3, 256, 1), Err(257));
    }

    #[test]
    fn copies_of_one_request_each_count_and_each_answer_frees_one() {
        let mut load = Load::default();
        for _ in 0..256 {
            assert!(load
                .observe(N, 0, Some(Term(2)), Some(req(1, 1)), std::iter::empty())
                .is_ok());
        }
        assert_eq!(
            load.observe(N, 0, Some(Term(2)), None, [req(1, 1)].into_iter()),
            Ok(false)
        );
        assert!(load
            .observe(N, 0, Some(Term(2)), Some(req(1, 1)), std::iter::empty())
            .is_ok());
        assert_eq!(
            load.observe(N, 0, Some(Term(2)), Some(req(1, 1)), std::iter::empty()),
            Err(257)
        );
    }

    #[test]
    fn an_opened_term_a_new_term_or_a_restart_starts_over() {
        for reset in [
            |l: &mut Load| l.observe(N, 0, None, None, std::iter::empty()),
            |l: &mut Load| l.observe(N, 0, Some(Term(4)), None, std::iter::empty()),
            |l: &mut Load| l.observe(N, 1, Some(Term(3)), None, std::iter::empty()),
        ] {
            let mut load = Load::default();
            assert_eq!(deliver(&mut load, 3, 0, 256), Ok(true));
            assert_eq!(reset(&mut load), Ok(false));
            let term = load.leaders.get(&N).map_or(3, |l| l.term.0);
            assert_eq!(
                deliver(&mut load, term, 1_000, 256),
                Ok(true),
                "counted afresh"
            );
        }
    }

    #[test]
    fn the_bound_is_the_protocols() {
        let text = include_str!("../../../../docs/protocol.md");
        assert!(
            text.contains(&format!("bounded queue ({HELD_BOUND})")),
            "docs/protocol.md states the bound LOAD-1 checks"
        );
    }
}
