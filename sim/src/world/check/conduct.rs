//! LIVE-4: a client's retries keep to its policy.
//!
//! The policy is the client's configuration ([`ClientConfig::max_attempts`]
//! and [`ClientConfig::backoff`]); the rules are restated here from the
//! design (`client::retry`'s documentation), not taken from its code:
//! - the n-th send of one request waits `w(n) = min(first · 2^(n-1),
//!   max(max, first))` plus at most a quarter of it, so its deadline lies in
//!   `[t + w(n), t + w(n) + w(n) / 4]` where `t` is the time of the send;
//! - a request is sent again only on a timeout at or after that deadline,
//!   or at once on an answer that asks for it (`Retry`, a `NotLeader` that
//!   names a leader in the cluster, the cloud's `Unavailable`), and at most
//!   `max_attempts` times in all; a `NotLeader` that names none (an
//!   election is on) asks for nothing at once: the resend waits for the
//!   deadline, so that the budget is not spent within milliseconds;
//! - a client moves past a request only on an answer to it, or when the
//!   budget is spent (then it fails with the vault or the cloud unavailable,
//!   or, for a cleanup that goes on, sends its next request);
//! - an answer to a request the client has moved past, or to a call it
//!   has not made yet, changes nothing;
//! - a vault request goes to a node of the cluster: the leader a
//!   `NotLeader` answer named (within the cluster), or else the node of the
//!   last vault send moved on in turn once for each timeout of a vault
//!   request and each `NotLeader` that named none (`client::retry`: "one
//!   that names none moves to the next node ... a timeout moves to the next
//!   node"). The first vault send of an app process may go anywhere (the
//!   device's saved leader hint).
//!
//! The checker sees the client from outside: what it sends (the request and
//! its call number), what reaches it (answers with their call numbers,
//! wake-ups) and the deadline it reports. A send is the same request as the
//! one before if the bytes are equal. An answer the client leaves without
//! effect (one that is not its own, as an answer the network forged) is not
//! counted as moving on: the client's next send after it is a resend.
//!
//! A client that reports no deadline while it waits is not judged here:
//! LIVE-1's final restores see that it never finishes.

use super::Violation;
use backup_vault::client::retry::Backoff;
use backup_vault::client::{CallId, ClientConfig, ClientError, CloudOp};
use backup_vault::invariant::Invariant;
use backup_vault::vault::ids::{Millis, NodeId, UserId};
use backup_vault::vault::opaque_crypto::OpaqueCrypto;
use backup_vault::vault::protocol::ClientRequest;

/// What a client sent, compared byte for byte with the send before.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Sent {
    /// A vault request.
    Vault(ClientRequest<OpaqueCrypto>),
    /// A cloud operation.
    Cloud(CloudOp),
}

/// What last happened to the client before its next output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cause {
    /// Nothing since its last send: a second send now has no cause.
    Nothing,
    /// An operation started: its first send is a new request.
    Started,
    /// An answer to the current request, which it may act on.
    Answer,
    /// An answer that asks for the request again (`woken` false), or a
    /// wake-up at or after the deadline: the next send is a resend, unless
    /// the budget is spent.
    Again { woken: bool },
    /// An answer to a call before the current request's first send.
    Stale(u64),
    /// An answer to a call the client has not made yet.
    Future(u64),
}

/// What reached the client, as far as its retry policy cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reply {
    /// The vault's `Retry`: send again at once.
    Retry,
    /// The vault's `NotLeader`, with the leader it names, if any.
    NotLeader(Option<NodeId>),
    /// The cloud's `Unavailable`: send again at once.
    Unavailable,
    /// Anything else: an answer the client may act on.
    Other,
}

/// Where the client's vault requests go, as the checker follows it.
#[derive(Clone, Copy, Debug)]
struct Route {
    /// The node of the last vault send.
    at: NodeId,
    /// Turns to the next node since.
    moves: u32,
    /// A leader a `NotLeader` named since.
    named: Option<NodeId>,
}

/// The request a client is waiting on, as the checker counts it.
#[derive(Clone, Debug)]
struct Current {
    sent: Sent,
    first_call: u64,
    last_call: u64,
    sends: u32,
    last_at: Millis,
    deadline: Option<Millis>,
}

#[derive(Clone, Debug)]
struct Device {
    epoch: u32,
    cause: Cause,
    current: Option<Current>,
    route: Option<Route>,
}

/// The checker: one device record per actor.
#[derive(Clone, Debug)]
pub struct Conduct {
    nodes: u8,
    max_sends: u32,
    first_ms: u64,
    max_ms: u64,
    devices: Vec<Device>,
}

impl Conduct {
    /// A checker for clients configured with `config`.
    pub fn new(config: &ClientConfig) -> Self {
        Conduct::with_policy(config.vault_nodes, config.max_attempts, config.backoff)
    }

    /// A checker for clients of a cluster of `nodes` nodes that send a
    /// request at most `max_attempts` times and wait as `backoff` says.
    pub fn with_policy(nodes: u8, max_attempts: u32, backoff: Backoff) -> Self {
        Conduct {
            nodes,
            max_sends: max_attempts.max(1),
            first_ms: backoff.first_ms,
            max_ms: backoff.max_ms,
            devices: Vec::new(),
        }
    }

    /// The wait after send number `n` (1 for the first), before jitter.
    fn wait(&self, n: u32) -> u64 {
        let cap = self.max_ms.max(self.first_ms);
        let mut w = self.first_ms;
        for _ in 1..n {
            if w >= cap {
                break;
            }
            w = w.saturating_mul(2);
        }
        w.min(cap)
    }

    fn device(&mut self, actor: usize, epoch: u32) -> &mut Device {
        if self.devices.len() <= actor {
            self.devices.resize(
                actor + 1,
                Device {
                    epoch,
                    cause: Cause::Nothing,
                    current: None,
                    route: None,
                },
            );
        }
        let d = &mut self.devices[actor];
        if d.epoch != epoch {
            // A new app process: nothing carries over.
            *d = Device {
                epoch,
                cause: Cause::Nothing,
                current: None,
                route: None,
            };
        }
        d
    }

    /// Actor `actor`'s client starts an operation.
    pub fn started(&mut self, actor: usize, epoch: u32) {
        let d = self.device(actor, epoch);
        d.cause = Cause::Started;
        d.current = None;
    }

    /// `reply`, an answer to call `call`, is about to reach the client.
    /// Returns whether it is an answer to the request the client waits on
    /// that the client may act on (not one that asks for the request again).
    pub fn answer(&mut self, actor: usize, epoch: u32, call: CallId, reply: Reply) -> bool {
        let nodes = self.nodes;
        let d = self.device(actor, epoch);
        let Some(cur) = d.current.as_ref() else {
            return false;
        };
        d.cause = if call.0 < cur.first_call {
            Cause::Stale(call.0)
        } else if call.0 > cur.last_call {
            Cause::Future(call.0)
        } else if reply == Reply::Other {
            Cause::Answer
        } else {
            Cause::Again { woken: false }
        };
        if let (Cause::Again { .. }, Reply::NotLeader(named), Sent::Vault(_), Some(route)) =
            (d.cause, reply, &cur.sent, d.route.as_mut())
        {
            match named.filter(|l| l.0 < nodes) {
                Some(l) => {
                    route.named = Some(l);
                    route.moves = 0;
                }
                None => {
                    route.named = None;
                    route.moves += 1;
                    // No leader to go to: wait out the deadline.
                    d.cause = Cause::Nothing;
                }
            }
        }
        d.cause == Cause::Answer
    }

    /// The client is woken at `now`.
    pub fn woken(&mut self, actor: usize, epoch: u32, now: Millis) {
        let d = self.device(actor, epoch);
        if d.current
            .as_ref()
            .and_then(|c| c.deadline)
            .is_some_and(|deadline| now >= deadline)
        {
            d.cause = Cause::Again { woken: true };
            if let (
                Some(Current {
                    sent: Sent::Vault(_),
                    ..
                }),
                Some(route),
            ) = (d.current.as_ref(), d.route.as_mut())
            {
                route.named = None;
                route.moves += 1;
            }
        } else {
            // Woken early: the client must do nothing yet.
            d.cause = Cause::Nothing;
        }
    }

    /// The client sends `sent` as call `call` at `now`, to node `to` if it
    /// is a vault request.
    ///
    /// # Errors
    /// The send breaks the policy (see the module documentation).
    #[allow(clippy::too_many_arguments)] // one send, as the world sees it
    pub fn sent(
        &mut self,
        actor: usize,
        epoch: u32,
        user: UserId,
        call: CallId,
        sent: Sent,
        to: Option<NodeId>,
        now: Millis,
    ) -> Result<(), Violation> {
        let (max, nodes) = (self.max_sends, self.nodes);
        let d = self.device(actor, epoch);
        let cause = std::mem::replace(&mut d.cause, Cause::Nothing);
        let fail = |why: String| Err(Violation::user(Invariant::Live4, user, None, why));
        if let Some(to) = to {
            if to.0 >= nodes {
                return fail(format!(
                    "user {}'s client sent call {} to node {}, outside its cluster of {nodes}",
                    user.0, call.0, to.0
                ));
            }
            let route = d.route.replace(Route {
                at: to,
                moves: 0,
                named: None,
            });
            if let Some(r) = route {
                let turned = (u32::from(r.at.0) + r.moves) % u32::from(nodes.max(1));
                let due = r.named.map_or(turned, |l| u32::from(l.0));
                if u32::from(to.0) != due {
                    return fail(format!(
                        "user {}'s client sent call {} to node {}; its route gives node {due} (last vault send to node {}, {} turns since, leader named: {:?})",
                        user.0, call.0, to.0, r.at.0, r.moves, r.named.map(|l| l.0)
                    ));
                }
            }
        }
        let new = |sent: Sent| Current {
            sent,
            first_call: call.0,
            last_call: call.0,
            sends: 1,
            last_at: now,
            deadline: None,
        };
        match (cause, d.current.as_mut()) {
            (Cause::Started | Cause::Answer, _) | (Cause::Again { .. }, None) => {
                d.current = Some(new(sent));
                Ok(())
            }
            (Cause::Again { .. }, Some(cur)) if cur.sent == sent => {
                if cur.sends >= max {
                    return fail(format!(
                        "user {}'s client sent one request a {}th time (call {}); its budget is {max} sends",
                        user.0,
                        cur.sends + 1,
                        call.0
                    ));
                }
                cur.sends += 1;
                cur.last_call = call.0;
                cur.last_at = now;
                cur.deadline = None;
                Ok(())
            }
            (Cause::Again { .. }, Some(cur)) => {
                if cur.sends < max {
                    return fail(format!(
                        "user {}'s client moved past a request after {} of {max} sends, without an answer to it (call {})",
                        user.0, cur.sends, call.0
                    ));
                }
                d.current = Some(new(sent));
                Ok(())
            }
            (Cause::Future(answered), _) => fail(format!(
                "user {}'s client acted on an answer to call {answered}, which it had not made yet, and sent call {}",
                user.0, call.0
            )),
            (Cause::Stale(answered), _) => fail(format!(
                "user {}'s client acted on the answer to call {answered}, a request it had moved past (its current request began at call {}), and sent call {}",
                user.0,
                d.current.as_ref().map_or(0, |c| c.first_call),
                call.0
            )),
            (Cause::Nothing, _) => fail(format!(
                "user {}'s client sent call {} with no answer, wake-up or new operation since its last send",
                user.0, call.0
            )),
        }
    }

    /// The client's operation ended with `result`.
    ///
    /// # Errors
    /// It gave up before its budget was spent, or acted on an answer to a
    /// request it had moved past.
    pub fn finished(
        &mut self,
        actor: usize,
        epoch: u32,
        user: UserId,
        result: Result<(), &ClientError>,
    ) -> Result<(), Violation> {
        let max = self.max_sends;
        let d = self.device(actor, epoch);
        let cause = std::mem::replace(&mut d.cause, Cause::Nothing);
        let current = d.current.take();
        let fail = |why: String| Err(Violation::user(Invariant::Live4, user, None, why));
        match (cause, current) {
            (Cause::Stale(answered), Some(cur)) => fail(format!(
                "user {}'s client ended its operation on the answer to call {answered}, a request it had moved past (its current request began at call {})",
                user.0, cur.first_call
            )),
            (Cause::Future(answered), Some(_)) => fail(format!(
                "user {}'s client ended its operation on an answer to call {answered}, which it had not made yet",
                user.0
            )),
            (Cause::Again { .. }, Some(cur))
                if matches!(
                    result,
                    Err(ClientError::VaultUnavailable | ClientError::CloudUnavailable)
                ) && cur.sends < max =>
            {
                fail(format!(
                    "user {}'s client gave up after {} of {max} sends of one request",
                    user.0, cur.sends
                ))
            }
            _ => Ok(()),
        }
    }

    /// The client has handled everything that reached it at `now` and
    /// reports `deadline` (its `poll_timeout`).
    ///
    /// # Errors
    /// The deadline is not the one the backoff gives its last send.
    pub fn waiting(
        &mut self,
        actor: usize,
        epoch: u32,
        user: UserId,
        deadline: Option<Millis>,
    ) -> Result<(), Violation> {
        let d = self.device(actor, epoch);
        d.cause = Cause::Nothing;
        let Some(cur) = d.current.as_ref() else {
            return Ok(());
        };
        let (Some(deadline), sends, at) = (deadline, cur.sends, cur.last_at) else {
            return Ok(());
        };
        let wait = self.wait(sends);
        let (lo, hi) = (at.0 + wait, at.0 + wait + wait / 4);
        if !(lo..=hi).contains(&deadline.0) {
            return Err(Violation::user(
                Invariant::Live4,
                user,
                None,
                format!(
                    "user {}'s client waits until {} ms after send {sends} of a request at {} ms; its backoff gives {lo} to {hi} ms",
                    user.0, deadline.0, at.0
                ),
            ));
        }
        if let Some(cur) = self.devices[actor].current.as_mut() {
            cur.deadline = Some(deadline);
        }
        Ok(())
    }
}

/// A vault request of user `user` for the checkers' unit tests (a delete:
/// the one request whose fields a test can make without a protocol run).
#[cfg(test)]
pub(super) fn a_vault_request(user: UserId) -> Sent {
    Sent::Vault(ClientRequest::Delete {
        user,
        registration: backup_vault::vault::crypto::RegistrationId(7),
        nonce: backup_vault::vault::crypto::DeleteNonce([7; 16]),
        proof: backup_vault::opaque::KeyProof::from_bytes(&[7; 32]).expect("32 bytes"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use backup_vault::cloud::ObjectKey;

    fn conduct() -> Conduct {
        Conduct::with_policy(3, 3, Backoff::DEFAULT)
    }

    fn get(name: &str) -> Sent {
        Sent::Cloud(CloudOp::Get {
            key: ObjectKey::new(name).unwrap(),
        })
    }

    const U: UserId = UserId(1);

    /// A checker that has seen one operation start and send `sent` as call
    /// 0 at time 0.
    fn first(sent: Sent, to: Option<NodeId>) -> Conduct {
        let mut c = conduct();
        c.started(0, 1);
        c.sent(0, 1, U, CallId(0), sent, to, Millis(0)).unwrap();
        c
    }

    #[test]
    fn the_waits_double_up_to_the_cap() {
        let c = conduct();
        let waits: Vec<u64> = (1..=5).map(|n| c.wait(n)).collect();
        assert_eq!(waits, [1_000, 2_000, 4_000, 4_000, 4_000]);
    }

    /// The policy kept: three sends, each waited out, then a failure.
    #[test]
    fn a_request_sent_to_its_budget_and_given_up_passes() {
        let mut c = first(get("a"), None);
        c.waiting(0, 1, U, Some(Millis(1_100))).unwrap();
        c.woken(0, 1, Millis(1_100));
        c.sent(0, 1, U, CallId(1), get("a"), None, Millis(1_100))
            .unwrap();
        c.waiting(0, 1, U, Some(Millis(3_100))).unwrap();
        c.answer(0, 1, CallId(1), Reply::Retry);
        c.sent(0, 1, U, CallId(2), get("a"), None, Millis(1_500))
            .unwrap();
        c.waiting(0, 1, U, Some(Millis(5_500))).unwrap();
        c.woken(0, 1, Millis(5_500));
        c.finished(0, 1, U, Err(&ClientError::CloudUnavailable))
            .unwrap();
    }

    #[test]
    fn each_break_of_the_policy_is_seen() {
        // A fourth send.
        let mut c = conduct();
        c.started(0, 1);
        for call in 0..3 {
            c.sent(0, 1, U, CallId(call), get("a"), None, Millis(0))
                .unwrap();
            c.answer(0, 1, CallId(call), Reply::Unavailable);
        }
        assert!(c
            .sent(0, 1, U, CallId(3), get("a"), None, Millis(0))
            .is_err());
        // Giving up early.
        let mut c = first(get("a"), None);
        c.answer(0, 1, CallId(0), Reply::Retry);
        assert!(c
            .finished(0, 1, U, Err(&ClientError::VaultUnavailable))
            .is_err());
        // Moving on without an answer.
        let mut c = first(get("a"), None);
        c.answer(0, 1, CallId(0), Reply::Retry);
        assert!(c
            .sent(0, 1, U, CallId(1), get("b"), None, Millis(0))
            .is_err());
        // Acting on an answer to an earlier request.
        let mut c = first(get("a"), None);
        c.answer(0, 1, CallId(0), Reply::Other);
        c.sent(0, 1, U, CallId(1), get("b"), None, Millis(0))
            .unwrap();
        c.answer(0, 1, CallId(0), Reply::Other);
        assert!(c
            .sent(0, 1, U, CallId(2), get("c"), None, Millis(0))
            .is_err());
        // A deadline outside the window, either side.
        for deadline in [999, 1_251] {
            let mut c = first(get("a"), None);
            assert!(c.waiting(0, 1, U, Some(Millis(deadline))).is_err());
        }
        // Resending before the deadline.
        let mut c = first(get("a"), None);
        c.waiting(0, 1, U, Some(Millis(1_000))).unwrap();
        c.woken(0, 1, Millis(999));
        assert!(c
            .sent(0, 1, U, CallId(1), get("a"), None, Millis(999))
            .is_err());
    }

    fn login() -> Sent {
        a_vault_request(U)
    }

    #[test]
    fn a_not_leader_that_names_none_is_no_cause_to_send_at_once() {
        // An election is on: sending again at once, to the next node, would
        // spend the budget within milliseconds.
        let mut c = first(login(), Some(NodeId(1)));
        c.answer(0, 1, CallId(0), Reply::NotLeader(None));
        assert!(c
            .sent(0, 1, U, CallId(1), login(), Some(NodeId(2)), Millis(10))
            .is_err());
        // At its deadline it goes to the next node but one: the refusal
        // moved it on once, the timeout once more.
        let mut c = first(login(), Some(NodeId(1)));
        c.answer(0, 1, CallId(0), Reply::NotLeader(None));
        c.waiting(0, 1, U, Some(Millis(1_000))).unwrap();
        c.woken(0, 1, Millis(1_000));
        assert!(c
            .sent(0, 1, U, CallId(1), login(), Some(NodeId(0)), Millis(1_000))
            .is_ok());
    }

    #[test]
    fn where_a_vault_request_goes_is_judged() {
        // Outside the cluster.
        let mut c = conduct();
        c.started(0, 1);
        assert!(c
            .sent(0, 1, U, CallId(0), login(), Some(NodeId(3)), Millis(0))
            .is_err());
        // After a timeout, the next node in turn; once more for each
        // "not the leader" that named none; a named leader at once; the
        // same node on a "retry".
        let cases: [(&[Reply], bool, u8); 5] = [
            (&[], true, 2),
            (&[Reply::NotLeader(None)], true, 0),
            (
                &[Reply::NotLeader(None), Reply::NotLeader(Some(NodeId(7)))],
                true,
                1,
            ),
            (&[Reply::NotLeader(Some(NodeId(0)))], false, 0),
            (&[Reply::Retry], false, 1),
        ];
        for (replies, timeout, due) in cases {
            for to in 0..3 {
                let mut c = first(login(), Some(NodeId(1)));
                for r in replies {
                    c.answer(0, 1, CallId(0), *r);
                }
                if timeout {
                    c.waiting(0, 1, U, Some(Millis(1_000))).unwrap();
                    c.woken(0, 1, Millis(1_000));
                }
                let r = c.sent(0, 1, U, CallId(1), login(), Some(NodeId(to)), Millis(1_000));
                assert_eq!(
                    r.is_ok(),
                    to == due,
                    "{replies:?}, timeout {timeout}: to node {to}"
                );
            }
        }
    }

    #[test]
    fn an_answer_to_a_call_not_made_yet_changes_nothing() {
        let mut c = first(get("a"), None);
        c.answer(0, 1, CallId(1), Reply::Retry);
        assert!(c
            .sent(0, 1, U, CallId(1), get("a"), None, Millis(5))
            .is_err());
        let mut c = first(get("a"), None);
        c.answer(0, 1, CallId(1), Reply::Other);
        assert!(c.finished(0, 1, U, Ok(())).is_err());
    }

    /// An answer the client leaves without effect is not a reason to count
    /// its next send as a new request; a new app process starts afresh.
    #[test]
    fn ignored_answers_and_restarts_are_not_breaks() {
        let mut c = first(get("a"), None);
        c.answer(0, 1, CallId(0), Reply::Other);
        c.waiting(0, 1, U, Some(Millis(1_000))).unwrap();
        c.woken(0, 1, Millis(1_000));
        c.sent(0, 1, U, CallId(1), get("a"), None, Millis(1_000))
            .unwrap();
        c.waiting(0, 1, U, Some(Millis(3_000))).unwrap();
        // The app restarts: call numbers begin again.
        c.started(0, 2);
        c.sent(0, 2, U, CallId(0), get("a"), None, Millis(3_000))
            .unwrap();
    }
}
