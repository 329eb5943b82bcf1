//! Node, network and clock faults, driven by the seed's fault mix, and the
//! end-of-run heal.
//!
//! Every 200 ms of virtual time the injector rolls, for each fault kind that
//! is on, whether it strikes now (probability: the kind's intensity per
//! mille). Network loss, duplication, delay and clock drift are rates set
//! once per run from the mix ([`net_config`]).

use super::scenario::{FaultKind, FaultMix};
use super::trace::Party;
use super::{Ev, ForcedRollback, Phase, World};
use crate::cluster::NetConfig;
use backup_vault::vault::ids::NodeId;
use backup_vault::vault::storage::Recovery;
use rand_chacha::rand_core::RngCore;

const TICK_MS: u64 = 200;

/// The network of a run, from its mix.
pub(super) fn net_config(mix: &FaultMix) -> NetConfig {
    let base = NetConfig::default();
    NetConfig {
        drop_per_mille: mix.level(FaultKind::Drop) / 4,
        duplicate_per_mille: mix.level(FaultKind::Duplicate) / 4,
        // Long tails reorder messages freely.
        max_delay_ms: base.max_delay_ms + u64::from(mix.level(FaultKind::Delay)),
        client_drop_per_mille: mix.level(FaultKind::ClientNetwork) / 4,
        client_duplicate_per_mille: mix.level(FaultKind::ClientNetwork) / 4,
        ..base
    }
}

/// Picks the (at most R) nodes whose disks may come back older.
pub(super) fn choose_rollback_nodes(world: &mut World) {
    // `lone-tail-rollback` and `rolled-back-vote` keep a place for the
    // node they act on.
    use super::nemesis::Nemesis;
    let kept = matches!(
        world.mix.nemesis,
        Some(Nemesis::LoneTailRollback | Nemesis::RolledBackVote)
    );
    let r = world
        .scenario
        .rollback_tolerance
        .saturating_sub(u8::from(kept));
    if !(world.mix.has(FaultKind::Rollback)
        || world.mix.has(FaultKind::CorruptWrite)
        || world.mix.has(FaultKind::Host))
    {
        return;
    }
    let n = u64::from(world.scenario.nodes);
    while world.rollback_nodes.len() < usize::from(r) {
        let id = NodeId(world.below(n) as u8);
        world.rollback_nodes.insert(id);
    }
}

fn strikes(world: &mut World, kind: FaultKind) -> bool {
    let level = world.mix.level(kind);
    level > 0 && (world.rng().next_u32() % 1000) < level
}

/// The injector's clock: maybe crash a node, maybe partition.
pub(super) fn tick(world: &mut World) {
    if world.phase != Phase::Faults {
        return;
    }
    super::nemesis::flap(world);
    let n = world.scenario.nodes;
    if strikes(world, FaultKind::Crash) {
        let id = NodeId(world.below(u64::from(n)) as u8);
        if world.cluster.is_up(id) {
            crash(world, id, false);
        }
    }
    if strikes(world, FaultKind::Partition) {
        partition(world);
    }
    if strikes(world, FaultKind::Host) {
        super::host::strike(world);
    }
    let next = world.now().plus(TICK_MS);
    world.cluster.schedule(next, Ev::FaultTick);
}

/// The longest a process restart keeps a node down, ms.
pub(super) const BRIEF_DOWN_MAX_MS: u64 = 50;

/// Crashes node `id`, losing its unsynced writes (maybe tearing the last
/// one), and schedules its restart: within milliseconds if `briefly`, else
/// as the crash draws it.
pub(super) fn crash(world: &mut World, id: NodeId, briefly: bool) {
    let torn = if strikes(world, FaultKind::TornWrite) {
        Some(world.below(1 << 16) as usize)
    } else {
        None
    };
    world.cluster.crash_tearing(id, torn);
    world.stats.crashes += 1;
    world.record(
        "fault",
        Party::World,
        Some(Party::Node(id.0)),
        if torn.is_some() {
            "crash-tearing-write"
        } else {
            "crash"
        },
        None,
        0,
    );
    // Some crashes are a process restart (back within milliseconds, which
    // races messages still in flight); others take a machine down.
    let down_for = if briefly || world.below(100) < 30 {
        5 + world.below(BRIEF_DOWN_MAX_MS - 5)
    } else {
        200 + world.below(3_000)
    };
    let at = world.now().plus(down_for);
    world.cluster.schedule(at, Ev::Restart(id));
}

/// Restarts a crashed node, maybe from an older or damaged disk.
pub(super) fn restart(world: &mut World, id: NodeId) {
    if world.cluster.is_up(id) {
        return;
    }
    let may_roll_back = world.rollback_nodes.contains(&id) && world.phase == Phase::Faults;
    if may_roll_back {
        // Whichever fault strikes below, its votes may be lost (R covers).
        world.elections.disk_lost(id);
    }
    let forced = world.forced_rollback.remove(&id);
    if may_roll_back && (forced.is_some() || strikes(world, FaultKind::Rollback)) {
        // How many syncs back (0: the last record cut), for the trace.
        let back = match forced {
            Some(ForcedRollback::LastEntryHsmKept) => {
                let back = world.cluster.syncs_back_to_lose_last_entry(id).unwrap_or(1);
                world.cluster.roll_back(id, back);
                back
            }
            Some(ForcedRollback::LastRecordHsmKept) => {
                if world.cluster.drop_last_record(id) {
                    0
                } else {
                    world.cluster.roll_back(id, 1);
                    1
                }
            }
            Some(ForcedRollback::Drawn) | None => {
                let back = world.below(8) as usize;
                world.cluster.roll_back(id, back);
                // Half the time the HSM goes too (replaced hardware): its
                // counter is lost and only R covers the rollback; else the
                // counter sees it.
                if world.below(2) == 0 {
                    world.cluster.replace_hsm(id);
                }
                back
            }
        };
        world.stats.rollbacks += 1;
        let step = world.cluster.events_processed();
        world.lockout.rolled_back(id, step);
        world.record(
            "fault",
            Party::World,
            Some(Party::Node(id.0)),
            "disk-rollback",
            None,
            back as u64,
        );
    } else if may_roll_back && strikes(world, FaultKind::Host) {
        // Counted as a rollback below if the restart reads less.
        super::host::edit_disk(world, id);
    } else if may_roll_back && strikes(world, FaultKind::CorruptWrite) {
        let offset = world.below(1 << 24) as usize;
        let bit = world.below(8) as u8;
        world.cluster.rot(id, offset, bit);
        world.record(
            "fault",
            Party::World,
            Some(Party::Node(id.0)),
            "disk-bit-rot",
            None,
            offset as u64,
        );
    }
    let seen_commit = world.consensus.seen_commit(id);
    let rolled_before = world.stats.rollbacks;
    let recovery = world.cluster.restart(id);
    world.consensus.restarted(id);
    world.lockout.restarted(id);
    let what = match recovery {
        Recovery::Clean => "restart",
        Recovery::TornTail => "restart-dropping-torn-write",
        Recovery::Corrupt { .. } => {
            world.stats.rollbacks += 1;
            let step = world.cluster.events_processed();
            world.lockout.rolled_back(id, step);
            "restart-from-corrupt-disk-prefix"
        }
        Recovery::Forged { .. } => {
            world.stats.rollbacks += 1;
            let step = world.cluster.events_processed();
            world.lockout.rolled_back(id, step);
            "restart-from-authentic-disk-prefix"
        }
    };
    if world.stats.rollbacks > rolled_before {
        if let Some(node) = world.cluster.node(id) {
            world
                .coverage
                .restarted_after_rollback(node.raft().log().last_index(), seen_commit);
        }
    }
    world.erasure.restarted(id);
    world.record(
        "fault",
        Party::World,
        Some(Party::Node(id.0)),
        what,
        None,
        0,
    );
}

fn partition(world: &mut World) {
    let n = world.scenario.nodes;
    let ids: Vec<NodeId> = (0..n).map(NodeId).collect();
    let shape = world.below(4);
    let what = match shape {
        0 => {
            let id = NodeId(world.below(u64::from(n)) as u8);
            world.cluster.isolate(id);
            "isolate-node"
        }
        1 => {
            // A data center: nodes are spread over three, round robin.
            let dc = world.below(3);
            let members: Vec<NodeId> = ids
                .iter()
                .copied()
                .filter(|i| u64::from(i.0) % 3 == dc)
                .collect();
            for a in &members {
                for b in &ids {
                    if !members.contains(b) {
                        world.cluster.partition(*a, *b);
                    }
                }
            }
            "isolate-data-center"
        }
        2 => {
            let mask = world.below(1 << n);
            for a in &ids {
                for b in &ids {
                    if (mask >> a.0) & 1 != (mask >> b.0) & 1 {
                        world.cluster.partition(*a, *b);
                    }
                }
            }
            "split"
        }
        _ => {
            let id = NodeId(world.below(u64::from(n)) as u8);
            world.cluster.set_unreachable(id, true);
            "clients-cut-from-node"
        }
    };
    world.stats.partitions += 1;
    world.partition_id += 1;
    world.record("fault", Party::World, None, what, None, world.partition_id);
    let at = world.now().plus(500 + world.below(5_000));
    let id = world.partition_id;
    world.cluster.schedule(at, Ev::HealPartition(id));
}

/// Heals the partition `id` if it is still the latest one (partitions do
/// not stack: a new one replaces the cut set only by adding to it, so the
/// last heal clears everything).
pub(super) fn heal_partition(world: &mut World, id: u64) {
    if id == world.partition_id {
        world.cluster.heal();
        world.record("fault", Party::World, None, "heal-partitions", None, id);
    }
}

/// The end of faults: heal the network, restart every node, stop the
/// cloud's faults and the adversaries, and let the world settle.
pub(super) fn heal_all(world: &mut World) {
    world.phase = Phase::Settling;
    world.cluster.heal();
    world.cluster.set_net(NetConfig::default());
    world.cloud.hook_mut().heal();
    super::host::restore_every_disk(world);
    let ids: Vec<NodeId> = world.cluster.ids().collect();
    for id in ids {
        if !world.cluster.is_up(id) {
            restart(world, id);
        }
    }
    world.record("fault", Party::World, None, "heal-everything", None, 0);
    let at = world.now().plus(super::SETTLE_MS);
    world.cluster.schedule(at, Ev::Final);
}
