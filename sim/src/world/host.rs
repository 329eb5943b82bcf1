//! The host adversary: the operator who runs every vault node's machine
//! (and the chat server), attacking from outside the HSMs.
//!
//! It holds no HSM key. What it can do, and does when the `host` fault is
//! on:
//! - read every disk byte and every peer message (the HOST-1 scan in
//!   `World::check_node` searches them for every HSM secret);
//! - inject forged peer messages: an `Append` from a made-up leader of a
//!   higher term carrying a `Reset` of a user's guess budget, in the only
//!   form it can make (in the clear), random bytes, and genuine messages
//!   cut short;
//! - replay captured sealed messages: to their link, to their receiver as
//!   if another node sent them (vote stuffing), or to any link;
//! - roll back every disk at once, and later put the newer disks back;
//! - edit the disk of a down node among the R that may come back older:
//!   replay an earlier record at the end, swap two records, copy in a
//!   record of another node's disk, or append a record in the clear.
//!
//! A correct node drops every forged or misdirected message (counted in
//! the run's figures) and reads an edited disk only up to the first record
//! that does not open: a rollback, which the quorums tolerate on R nodes.
//! A replay to its own link is a late duplicate, which consensus tolerates.
//! A rollback of every disk stops the cluster (each HSM's counter refuses
//! votes for logs behind what it acknowledged) until the disks come back.

use super::trace::Party;
use super::World;
use backup_vault::vault::crypto::{Ke1Digest, VaultCrypto};
use backup_vault::vault::hsm_seal::SealedBytes;
use backup_vault::vault::ids::{LogIndex, NodeId, Term};
use backup_vault::vault::opaque_crypto::OpaqueCrypto;
use backup_vault::vault::raft::log::Entry;
use backup_vault::vault::raft::message::PeerMessage;
use backup_vault::vault::records::Command;
use backup_vault::vault::sealed::{DiskRecord, SealedMessage, StoredRecord};
use std::collections::VecDeque;

/// How many captured messages the adversary keeps for replays.
const CAPTURED: usize = 64;

/// What the host adversary remembers.
#[derive(Default)]
pub(super) struct HostAdversary {
    /// Sealed messages it saw on the wire: (from, to, message).
    captured: VecDeque<(NodeId, NodeId, SealedMessage<OpaqueCrypto>)>,
    /// Forged messages injected.
    pub forged: u64,
    /// Captured messages replayed.
    pub replayed: u64,
    /// Disk edits.
    pub disk_edits: u64,
    /// Rollbacks of every disk at once.
    pub every_disk: u64,
    /// A rollback of every disk left some node on its older disk (it wrote
    /// since, so the operator could not put the newer one back): the
    /// cluster may never elect again, which the counter allows (it costs
    /// liveness, never a commit), so the run's final liveness checks do not
    /// apply. Safety is checked as always.
    pub liveness_voided: bool,
    /// After a rollback of every disk: per node, the disk it had and the
    /// older one put in its place, until the operator restores them.
    kept: Vec<(NodeId, SavedDisk, Vec<StoredRecord<OpaqueCrypto>>)>,
}

type SavedDisk = (
    Vec<StoredRecord<OpaqueCrypto>>,
    backup_vault::vault::node::VaultDisk<OpaqueCrypto>,
);

impl HostAdversary {
    /// Keeps a message seen on the wire, for later replays.
    pub(super) fn capture(&mut self, from: NodeId, to: NodeId, m: &SealedMessage<OpaqueCrypto>) {
        if self.captured.len() == CAPTURED {
            self.captured.pop_front();
        }
        self.captured.push_back((from, to, m.clone()));
    }
}

/// One strike of the host adversary: on the network, or (rarely) on every
/// disk at once.
pub(super) fn strike(world: &mut World) {
    match world.below(16) {
        0 => roll_back_every_disk(world),
        1..=5 => forge_reset(world),
        6..=10 => replay(world),
        _ => garbage(world),
    }
}

/// Every node crashes and every disk comes back older: what an operator
/// who keeps copies of every host's disk can do, and what no quorum size
/// absorbs (on the nodes R covers, maybe with a new HSM too). Each HSM's
/// counter refuses what its disk forgot (the nodes vote only for logs at
/// least as far as they acknowledged, or on enough others' word that what
/// they lost was never committed), so the cluster stops rather than lose a
/// commit; a little later the operator puts the newer disks back
/// ([`restore_every_disk`]).
fn roll_back_every_disk(world: &mut World) {
    if !world.host.kept.is_empty() {
        return;
    }
    let ids: Vec<NodeId> = world.cluster.ids().collect();
    if !ids.iter().all(|id| world.cluster.is_up(*id)) {
        return;
    }
    let step = world.cluster.events_processed();
    for &id in &ids {
        let newest = world.cluster.take_disk(id);
        world.cluster.crash(id);
        let back = 1 + world.below(8) as usize;
        world.cluster.roll_back(id, back);
        // On the R nodes that may lose their counters, half the time the
        // HSM goes too (replaced hardware): a node that then gives its word
        // on how far its log reached is wrong, and R covers it.
        if world.rollback_nodes.contains(&id) && world.below(2) == 0 {
            world.cluster.replace_hsm(id);
        }
        let installed = world.cluster.take_disk(id).0;
        world.host.kept.push((id, newest, installed));
        world.stats.rollbacks += 1;
        world.lockout.rolled_back(id, step);
        world.elections.disk_lost(id);
    }
    for &id in &ids {
        world.cluster.restart(id);
        world.consensus.restarted(id);
        world.lockout.restarted(id);
        world.erasure.restarted(id);
    }
    world.host.every_disk += 1;
    world.record(
        "fault",
        Party::World,
        None,
        "host-rolls-back-every-disk",
        None,
        ids.len() as u64,
    );
    let at = world.now().plus(1_000 + world.below(3_000));
    world.cluster.schedule(at, super::Ev::RestoreDisks);
}

/// The operator puts back the disks it rolled back: on every node that
/// wrote nothing since, and on every node still behind what its counter
/// says it acknowledged, up or down (a node that caught up moved on
/// legitimately, and keeps its disk). If some node's counter is then ahead
/// of every node's log, nobody can ever satisfy its vote: the final
/// liveness checks are void (see [`HostAdversary::liveness_voided`]).
pub(super) fn restore_every_disk(world: &mut World) {
    if world.host.kept.is_empty() {
        return;
    }
    let kept = std::mem::take(&mut world.host.kept);
    for (id, newest, installed) in kept {
        let behind = log_end(world, id) < world.cluster.nvram(id).log;
        if world.cluster.take_disk(id).0 != installed && !behind {
            continue;
        }
        // The votes it cast on the older disk are not on the newer one.
        world.elections.disk_lost(id);
        if !world.cluster.is_up(id) {
            // Down: it restarts from the newer disk when its time comes.
            world.cluster.put_disk(id, newest);
            continue;
        }
        world.cluster.crash(id);
        world.cluster.put_disk(id, newest);
        world.cluster.restart(id);
        world.consensus.restarted(id);
        world.lockout.restarted(id);
        world.erasure.restarted(id);
    }
    world.record(
        "fault",
        Party::World,
        None,
        "host-restores-every-disk",
        None,
        0,
    );
    let ids: Vec<NodeId> = world.cluster.ids().collect();
    let furthest = ids.iter().map(|id| log_end(world, *id)).max();
    let unreachable = ids
        .iter()
        .any(|id| Some(world.cluster.nvram(*id).log) > furthest);
    if unreachable {
        world.host.liveness_voided = true;
    }
}

/// Where node `id`'s log ends, (last term, last index): in memory if it is
/// up, else on its disk (a node that crashed after the rollback is judged
/// by the disk it will restart from).
fn log_end(world: &World, id: NodeId) -> (Term, LogIndex) {
    match world.cluster.node(id) {
        Some(n) => (n.raft().log().last_term(), n.raft().log().last_index()),
        None => {
            let log = &world.cluster.disk(id).log;
            (log.last_term(), log.last_index())
        }
    }
}

/// An `Append` from a made-up leader of a term above every node's, carrying
/// a `Reset` of a guessed-against user's budget, sent to every node as if
/// from node `claimed`.
fn forge_reset(world: &mut World) {
    let ids: Vec<NodeId> = world.cluster.ids().collect();
    let Some((term, last, last_term)) = ids
        .iter()
        .filter_map(|id| world.cluster.node(*id))
        .map(|n| {
            let log = n.raft().log();
            (n.raft().term(), log.last_index(), log.last_term())
        })
        .max()
    else {
        return;
    };
    // A user with an active record, as the operator knows from its own
    // database (user ids and registrations are not secret).
    let target = ids
        .iter()
        .filter_map(|id| world.cluster.node(*id))
        .flat_map(|n| {
            n.store()
                .iter()
                .filter_map(|(u, r)| r.active.as_ref().map(|a| (*u, a.registration)))
                .collect::<Vec<_>>()
        })
        .max();
    let Some((user, registration)) = target else {
        return;
    };
    let forged_term = Term(term.0 + 1);
    let message = PeerMessage::Append {
        term: forged_term,
        prev_index: last,
        prev_term: last_term,
        entries: vec![Entry {
            term: forged_term,
            command: Some(Command::Reset {
                user,
                registration,
                ke1: Ke1Digest::of(b"forged", &world.below(u64::MAX).to_be_bytes()),
            }),
        }],
        commit: LogIndex(last.0 + 1),
    };
    let sealed = OpaqueCrypto::in_clear(&message);
    let claimed = ids[world.below(ids.len() as u64) as usize];
    for &to in &ids {
        if to != claimed {
            world.cluster.inject(claimed, to, sealed.clone(), None);
        }
    }
    world.host.forged += 1;
    world.record(
        "fault",
        Party::World,
        None,
        "host-forges-reset",
        Some(user.0),
        forged_term.0,
    );
}

/// A captured message, to its own link (a late duplicate), to its own
/// receiver as if another node sent it (vote stuffing: a granted vote
/// counted once more, from a node that never voted), or to any link. Only
/// the first may open.
fn replay(world: &mut World) {
    if world.host.captured.is_empty() {
        return;
    }
    let len = world.host.captured.len() as u64;
    let mode = world.below(3);
    let k = if mode == 1 {
        // Vote stuffing aims at votes and acknowledgements, which the host
        // tells apart by their size: the shortest of a few captured ones.
        let picks: Vec<usize> = (0..8).map(|_| world.below(len) as usize).collect();
        picks
            .into_iter()
            .min_by_key(|&k| world.host.captured[k].2.as_bytes().len())
            .unwrap_or(0)
    } else {
        world.below(len) as usize
    };
    let (sealed_from, sealed_to, m) = world.host.captured[k].clone();
    let n = u64::from(world.scenario.nodes);
    let (from, to) = match mode {
        0 => (sealed_from, sealed_to),
        1 => (NodeId(world.below(n) as u8), sealed_to),
        _ => (NodeId(world.below(n) as u8), NodeId(world.below(n) as u8)),
    };
    world
        .cluster
        .inject(from, to, m, Some((sealed_from, sealed_to)));
    world.host.replayed += 1;
    world.record(
        "fault",
        Party::World,
        Some(Party::Node(to.0)),
        "host-replays-message",
        None,
        u64::from(from.0),
    );
}

/// Random bytes, presented as a sealed message; or, half the time, the
/// first bytes of a genuine sealed message (a write to the network cut
/// short): it carries the sealed form's marker, and at under 41 bytes it is
/// too short to hold a nonce and a tag, which the node must refuse by its
/// length before it reads either.
fn garbage(world: &mut World) {
    let len = 1 + world.below(200) as usize;
    let mut bytes: Vec<u8> = (0..len).map(|_| world.below(256) as u8).collect();
    // Decided by a byte already drawn, so the run's other draws stay where
    // they were.
    if bytes[0].is_multiple_of(2) {
        if let Some((_, _, genuine)) = world.host.captured.back() {
            bytes = genuine.as_bytes()[..len.min(genuine.as_bytes().len())].to_vec();
        }
    }
    let n = u64::from(world.scenario.nodes);
    let (from, to) = (NodeId(world.below(n) as u8), NodeId(world.below(n) as u8));
    let len = bytes.len();
    world
        .cluster
        .inject(from, to, SealedBytes::from_bytes(bytes), None);
    world.host.forged += 1;
    world.record(
        "fault",
        Party::World,
        Some(Party::Node(to.0)),
        "host-injects-garbage",
        None,
        len as u64,
    );
}

/// Edits the disk of node `id`, which is down: the restart that follows
/// reads it only up to the first record that does not open. Returns
/// whether anything changed.
pub(super) fn edit_disk(world: &mut World, id: NodeId) -> bool {
    let records = world.cluster.sim_disk(id).records().to_vec();
    if records.is_empty() {
        return false;
    }
    let n = records.len();
    let what = world.below(4);
    let (at, spliced, name) = match what {
        // An earlier record again, at the end.
        0 => {
            let k = world.below(n as u64) as usize;
            (n, vec![records[k].clone()], "host-replays-disk-record")
        }
        // Two records swapped.
        1 if n >= 2 => {
            let k = world.below(n as u64 - 1) as usize;
            (
                k,
                std::iter::once(records[k + 1].clone())
                    .chain(std::iter::once(records[k].clone()))
                    .chain(records[k + 2..].iter().cloned())
                    .collect(),
                "host-swaps-disk-records",
            )
        }
        // A record of another node's disk, at the end.
        2 => {
            let other = NodeId((id.0 + 1) % world.scenario.nodes);
            let theirs = world.cluster.sim_disk(other).records().to_vec();
            let Some(r) = theirs.last() else {
                return false;
            };
            (n, vec![r.clone()], "host-copies-foreign-disk-record")
        }
        // A record in the clear, claiming a high term and no vote.
        _ => {
            let mut forged = records[n - 1].clone();
            forged.position += 1;
            forged.follows = None;
            forged.sealed = OpaqueCrypto::in_clear(&DiskRecord::Write(
                backup_vault::vault::raft::durable::DiskWrite::HardState {
                    term: Term(u64::from(u32::MAX)),
                    voted_for: None,
                },
            ));
            (n, vec![forged], "host-forges-disk-record")
        }
    };
    world.cluster.splice_disk(id, at, spliced);
    world.host.disk_edits += 1;
    world.record(
        "fault",
        Party::World,
        Some(Party::Node(id.0)),
        name,
        None,
        at as u64,
    );
    true
}
