//! The driver contract: what a driver gives a vault node, and what the node
//! asks of it in return.
//!
//! A driver (the simulator, the model checker, the fuzzer, the tests, a
//! runtime over sockets and files) owns the node's I/O; the node owns every
//! rule. One call, [`VaultNode::handle`](super::node::VaultNode::handle),
//! takes one [`Input`] with the driver's clock and an RNG and returns one
//! [`Step`]: the effects to carry out, in order, and the next deadline. A
//! driver is then a short loop:
//!
//! ```text
//! loop {
//!     let input = next of: client request | peer message | timer due | writes durable;
//!     let step = node.handle(input, now, rng);
//!     for effect in step.effects { carry it out, in order }
//!     arm the timer for step.next_deadline
//! }
//! ```
//!
//! What the driver must do with each effect, and why the order is safe:
//!
//! | effect | the driver | guarantee the node gives |
//! |---|---|---|
//! | [`Effect::Persist`] | queues the sealed write on the node's disk, in order (append a record, or replace the file atomically); once it and every earlier write are durable, it says so with [`Input::Persisted`] | writes come in `WriteId` order, one per call; each is sealed for its place in the file ([`super::sealed`]) |
//! | [`Effect::Send`] | delivers the sealed message to the peer (or loses it) | a message that depends on a write (a vote, an append acknowledgement) is released only after that write was reported durable; every `Send` in a step may go at once; each is sealed for its link |
//! | [`Effect::Dropped`] | may count it (metrics, alarms) | a peer message that did not open was dropped, and changed nothing |
//! | [`Effect::Reply`] | delivers the answer to the client | a reply about log index `i` comes after the [`Effect::Applied`] for `i` |
//! | [`Effect::Applied`] | may record it (checkers, metrics); nothing to do | indices are consecutive from the node's applied index; each is committed |
//! | [`Effect::Restored`] | may record it | the node's store was replaced by a snapshot covering every index up to `index` |
//! | [`Effect::Role`] | may record it | reported when the node's term or role differs from before the step |
//!
//! The node is the HSM: nothing it hands the driver is in the clear.
//! Writes and messages are sealed under keys only HSMs hold; the driver
//! (the host) stores and carries bytes it cannot read or forge, and hands
//! a restarting node its disk's records with [`super::host`].
//!
//! Within a step, `Persist` effects come first, then `Send`, then the
//! node's own effects (`Dropped`, `Restored`, `Applied`, `Reply`) in the order they
//! happened, then `Role`. A driver that carries them out in that order cannot
//! send a message before the write it depends on, nor answer before the
//! entry it reports is applied.
//!
//! The timer: deliver [`Input::Timer`] at or after `next_deadline` by the
//! node's clock. A timer that comes early, or twice, does nothing harmful
//! (the node checks its deadlines against `now`).

use super::crypto::VaultCrypto;
use super::ids::{LogIndex, Millis, NodeId, Term};
use super::node::{ClientId, Reply, RequestId};
use super::protocol::ClientRequest;
use super::raft::durable::WriteId;
use super::raft::Role;
use super::records::{Command, Outcome};
use super::sealed::{DiskOp, SealedMessage};

/// One input to a vault node.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Input<C: VaultCrypto> {
    /// A client request, from the connection the driver calls `from`.
    Client {
        /// The connection.
        from: ClientId,
        /// The driver's number for this request, echoed in the reply.
        id: RequestId,
        /// The request.
        request: ClientRequest<C>,
    },
    /// A sealed consensus message from another node.
    Peer {
        /// The sender, as the driver knows it (the connection it came on).
        from: NodeId,
        /// The message, sealed for the link from `from` to this node.
        message: SealedMessage<C>,
    },
    /// The node's clock reached a deadline it asked for.
    Timer,
    /// Every write up to and including `up_to` is durable.
    Persisted {
        /// The last durable write.
        up_to: WriteId,
    },
}

/// Everything one input asks of the driver. Dropping it loses writes,
/// messages and replies, so it must be used.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[must_use = "a step's effects must be carried out, in order"]
pub struct Step<C: VaultCrypto> {
    /// The effects, in the order the driver must carry them out.
    pub effects: Vec<Effect<C>>,
    /// When to deliver [`Input::Timer`], by the node's clock.
    pub next_deadline: Millis,
}

/// One thing a node asks its driver to do, or tells it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Effect<C: VaultCrypto> {
    /// Queue this sealed write on the node's disk; report it with
    /// [`Input::Persisted`].
    Persist {
        /// Its number; writes come in increasing order.
        id: WriteId,
        /// What to do with the file: append a record, or replace it.
        op: DiskOp<C>,
    },
    /// Send this sealed message to a peer.
    Send {
        /// The peer.
        to: NodeId,
        /// The message, sealed for the link.
        message: SealedMessage<C>,
    },
    /// A peer message did not open (forged, altered, or not for this link)
    /// and was dropped.
    Dropped {
        /// Who the driver said sent it.
        from: NodeId,
    },
    /// Deliver this answer to a client.
    Reply(Reply<C>),
    /// A committed entry was applied to the record store.
    Applied(Applied<C>),
    /// A snapshot replaced the record store.
    Restored {
        /// The last index the snapshot covers; the node's applied index now.
        index: LogIndex,
    },
    /// The node's term or role changed.
    Role {
        /// Its term now.
        term: Term,
        /// Its role now.
        role: Role,
    },
}

/// A committed entry, as the node applied it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Applied<C: VaultCrypto> {
    /// Its log index.
    pub index: LogIndex,
    /// The term it was proposed in.
    pub term: Term,
    /// The command; `None` for a leader's no-op.
    pub command: Option<Command<C>>,
    /// What applying the command did; `None` for a no-op.
    pub outcome: Option<Outcome>,
}
