//! The properties of the implementation-in-the-loop model: the invariants of
//! DESIGN.md §3 as predicates over a [`VaultState`] (its nodes, disks and
//! ghost observers).

use super::{Msg, Node, VaultModel, VaultState, ALICE, BOB, C};
use backup_vault::invariant::Invariant;
use backup_vault::vault::crypto::{RegistrationId, SymbolicCrypto};
use backup_vault::vault::ids::{LogIndex, NodeId, Term, UserId};
use backup_vault::vault::raft::durable::DiskWrite;
use backup_vault::vault::raft::log::{Entry, Log};
use backup_vault::vault::raft::message::PeerMessage;
use backup_vault::vault::raft::Role;
use backup_vault::vault::records::{Command, RecordStore, Tombstone};
use backup_vault::vault::sealed::{audit_record, DiskRecord};
use stateright::Property;
use std::collections::{BTreeMap, BTreeSet};

/// LOCK-1.
pub const LOCK_1: &str = "LOCK-1 at most limit password tests per key between two proofs";
/// LOCK-1, one registration per OPRF key.
pub const LOCK_1_ONE_KEY: &str = "LOCK-1 an OPRF key serves one registration";
/// LOCK-2.
pub const LOCK_2: &str = "LOCK-2 the attempt is durable at a quorum before KE2";
/// LOCK-3.
pub const LOCK_3: &str = "LOCK-3 only a KE3 resets the count";
/// LOCK-3, content: a change the owner is told is active is what it sealed.
pub const LOCK_3_CONTENT: &str = "LOCK-3 an authenticated change activates what the owner sealed";
/// LOCK-4.
pub const LOCK_4: &str = "LOCK-4 a destroyed key is erased and never released";
/// LOCK-4 on disk.
pub const LOCK_4_DISK: &str =
    "LOCK-4 a registration applied away leaves no key material on a synced disk";
/// LOCK-5.
pub const LOCK_5: &str = "LOCK-5 resends of the owner's KE1 cost one attempt";
/// CONS-1.
pub const CONS_1: &str = "CONS-1 at most one leader per term";
/// CONS-2.
pub const CONS_2: &str = "CONS-2 logs agreeing on an entry agree before it";
/// CONS-3.
pub const CONS_3: &str = "CONS-3 a committed entry is never lost or changed";
/// CONS-4, order of application.
pub const CONS_4: &str = "CONS-4 every node applies the committed commands in order";
/// CONS-4, linearizability.
pub const CONS_4_LIN: &str = "CONS-4 the record store is linearizable";
/// REG-1.
pub const REG_1: &str = "REG-1 a KE3 never finishes another user's login";
/// REG-2.
pub const REG_2: &str = "REG-2 only an activated registration can be guessed";
/// HOST-1.
pub const HOST_1: &str = "HOST-1 nothing the host holds in the clear carries HSM secrets";
/// Any `assert!` inside the implementation.
pub const NO_PANIC: &str = "no assertion in the implementation fails";
/// Non-vacuity.
pub const SOME_LOGIN: &str = "sometimes a login succeeds";
/// Non-vacuity.
pub const SOME_DESTROYED: &str = "sometimes a record is destroyed";
/// Non-vacuity: a spent budget destroys its record through `Exhaust` (no
/// new guess needed), once its last login expired or failed.
pub const SOME_EXHAUSTED: &str = "sometimes a spent record is destroyed by Exhaust";
/// Non-vacuity.
pub const SOME_LEADER_CHANGE: &str = "sometimes the leader changes";
/// Non-vacuity.
pub const SOME_ROLLBACK: &str = "sometimes a disk is rolled back";

/// Non-vacuity: the owner's delete of a registration that was staged and
/// not yet activated took effect (the delete rule's staged arm ran; a
/// delete that answers Stale there is only ever retried, which the history
/// check cannot tell from "not decided yet").
pub const SOME_STAGED_DELETED: &str = "sometimes a delete removes a staged registration";

/// Non-vacuity: the owner's delete of its active registration took effect
/// (the delete rule's active arm ran; a wrong `Stale` there is answered
/// Retry too).
pub const SOME_ACTIVE_DELETED: &str = "sometimes a delete removes the active registration";

/// Non-vacuity: snapshot code ran (with a small `snapshot_every`).
pub const SOME_RESTORE: &str = "sometimes a node's store is replaced by a snapshot";

/// Whether the `sometimes` property `name` can happen at all within
/// `bounds`: one the bounds rule out (no owner login, no rollback, no
/// timer) is not asked for, so that a run that could not reach it is not
/// reported as missing an example, and a run that could is.
pub fn sometimes_applies(name: &str, b: &super::VaultBounds) -> bool {
    let spends = b.guesses >= b.guess_limit;
    match name {
        SOME_LOGIN => b.logins > 0,
        SOME_DESTROYED => b.guesses > b.guess_limit || (spends && b.timers.fire()),
        SOME_EXHAUSTED => spends && b.timers.fire(),
        SOME_LEADER_CHANGE => b.timers.fire() && (b.nodes > 1 || b.crashes > 0),
        // Routine compaction within a bound needs a small `snapshot_every`
        // (the default, 1000, never compacts); a store is then replaced at
        // a restart from a compacted disk or by a leader's snapshot.
        // Only a change stages a registration the owner can name.
        SOME_STAGED_DELETED => b.deletes > 0 && b.changes > 0,
        SOME_ACTIVE_DELETED => b.deletes > 0,
        SOME_RESTORE => b.snapshot_every <= 2 && (b.crashes > 0 || b.nodes > 1),
        SOME_ROLLBACK => {
            b.crashes > 0 && ((b.rollbacks > 0 && b.rollback_tolerance > 0) || b.host_rollbacks > 0)
        }
        _ => true,
    }
}

pub(super) fn properties(bounds: &super::VaultBounds) -> Vec<Property<VaultModel>> {
    let mut all = every_property();
    all.retain(|p| sometimes_applies(p.name, bounds));
    all
}

fn every_property() -> Vec<Property<VaultModel>> {
    vec![
        Property::always(LOCK_1, lock_1),
        // No OPRF key is the key of two registrations in the stores over a
        // run. Logins evaluate under the record's key, and a proof of K
        // about a record starts a new count of tests under it (`lock_1`
        // counts between proofs): a second registration under the key of
        // one of the owner's, staged by a holder of another K with a ticket
        // the chat server kept, would buy that holder, with proofs of its
        // own, budget after budget of tests of the owner's password, which
        // `lock_1` alone counts as fresh budgets.
        Property::always(LOCK_1_ONE_KEY, |_, s: &VaultState| {
            !s.ghost.flags.key_serves_two
        }),
        Property::always(LOCK_2, |_, s: &VaultState| !s.ghost.flags.ke2_before_quorum),
        Property::always(LOCK_3, lock_3),
        Property::always(LOCK_3_CONTENT, |_, s: &VaultState| {
            !s.ghost.flags.change_reverted
        }),
        Property::always(LOCK_4, lock_4),
        Property::always(LOCK_4_DISK, lock_4_disk),
        Property::always(LOCK_5, lock_5),
        Property::always(CONS_1, |_, s: &VaultState| !s.ghost.flags.two_leaders),
        Property::always(CONS_2, cons_2),
        Property::always(CONS_3, cons_3),
        Property::always(CONS_4, cons_4),
        Property::always(CONS_4_LIN, |_, s: &VaultState| {
            !s.ghost.flags.not_linearizable
        }),
        Property::always(REG_1, |_, s: &VaultState| !s.ghost.flags.cross_user_login),
        Property::always(REG_2, reg_2),
        Property::always(HOST_1, host_1),
        Property::always(NO_PANIC, |_, s: &VaultState| s.ghost.panic.is_none()),
        Property::sometimes(SOME_LOGIN, |_, s: &VaultState| s.ghost.logins_ok > 0),
        Property::sometimes(SOME_DESTROYED, |_, s: &VaultState| {
            !s.ghost.destroyed.is_empty()
        }),
        Property::sometimes(SOME_EXHAUSTED, |_, s: &VaultState| {
            s.ghost.committed.values().any(|(e, _)| {
                matches!(&e.command, Some(Command::Exhaust { registration, .. })
                    if s.ghost.destroyed.contains(registration))
            })
        }),
        Property::sometimes(SOME_LEADER_CHANGE, |_, s: &VaultState| {
            s.ghost.leaders.len() >= 2
        }),
        Property::sometimes(SOME_STAGED_DELETED, |_, s: &VaultState| {
            deleted_while(s, Held::Staged)
        }),
        Property::sometimes(SOME_ACTIVE_DELETED, |_, s: &VaultState| {
            deleted_while(s, Held::Active)
        }),
        Property::sometimes(SOME_RESTORE, |_, s: &VaultState| s.ghost.restored),
        Property::sometimes(SOME_ROLLBACK, |_, s: &VaultState| {
            s.budgets.rolled_back != 0
        }),
    ]
}

/// How a registration was held when a delete named it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Held {
    Staged,
    Active,
}

/// Some node's store holds a tombstone `Deleted(r)` for a registration `r`
/// that was held as `held` when its first delete committed: staged if no
/// activation of `r` was committed before it, active if one was.
fn deleted_while(s: &VaultState, held: Held) -> bool {
    let first = |wanted: fn(&Command<C>) -> bool, r: RegistrationId| {
        s.ghost.committed.iter().find_map(|(i, (e, _))| {
            e.command
                .as_ref()
                .filter(|c| wanted(c) && c.registration() == r)
                .map(|_| *i)
        })
    };
    s.slots.iter().any(|slot| {
        let tombstone = slot
            .node()
            .and_then(|n| n.store().get(ALICE))
            .and_then(|r| r.tombstone());
        let Some(Tombstone::Deleted(r)) = tombstone else {
            return false;
        };
        let Some(deleted) = first(|c| matches!(c, Command::Delete { .. }), r) else {
            return false;
        };
        let activated = first(|c| matches!(c, Command::Activate { .. }), r);
        let was = match activated {
            Some(a) if a < deleted => Held::Active,
            _ => Held::Staged,
        };
        was == held
    })
}

fn panicked_with(s: &VaultState, tag: &str) -> bool {
    s.ghost.panic.as_deref().is_some_and(|m| m.contains(tag))
}

/// Per OPRF key, the distinct inputs evaluated between two proofs of
/// knowledge about the record of that key. An evaluation at position
/// `(index, after)` falls after every proof at an index below it (or, for a
/// registration response read from applied state, at or below it).
fn lock_1(m: &VaultModel, s: &VaultState) -> bool {
    // A record whose password file was made from an evaluation the vault
    // did not make can be tested by whoever made it, without limit.
    let foreign: BTreeSet<_> = s
        .owner
        .sealed
        .iter()
        .filter(|r| r.evaluated_under != r.ticket.key)
        .map(|r| r.content())
        .collect();
    let foreign_active = s.slots.iter().any(|slot| {
        slot.node()
            .and_then(|n| n.store().get(ALICE))
            .and_then(|r| r.active.as_ref())
            .is_some_and(|a| foreign.contains(&a.content))
    });
    if foreign_active {
        return false;
    }
    let none = BTreeSet::new();
    s.ghost.evals.iter().all(|(key, evals)| {
        let proofs = s.ghost.proofs.get(key).unwrap_or(&none);
        let mut per_interval: BTreeMap<LogIndex, BTreeSet<_>> = BTreeMap::new();
        for (index, after, input) in evals {
            let last_proof = if *after {
                proofs.range(..=*index).next_back()
            } else {
                proofs.range(..*index).next_back()
            };
            per_interval
                .entry(last_proof.copied().unwrap_or(LogIndex(0)))
                .or_default()
                .insert(*input);
        }
        per_interval
            .values()
            .all(|inputs| inputs.len() <= usize::from(m.bounds.guess_limit))
    })
}

/// Every KE1 the owner sent cost at most one attempt on each record, however
/// often it was sent.
fn lock_5(_: &VaultModel, s: &VaultState) -> bool {
    s.ghost.owner_attempts.values().all(|at| at.len() <= 1)
}

/// Every distinct `Reset` entry (by index and term) in any log or on any
/// disk must be matched by a KE3 delivered for that user: nothing else
/// (a replay, a leader change, a restart, a re-registration) may reset.
fn lock_3(m: &VaultModel, s: &VaultState) -> bool {
    let mut resets: BTreeSet<(u64, LogIndex, Term)> = BTreeSet::new();
    for (i, slot) in s.slots.iter().enumerate() {
        let disk = m.durable(s, NodeId(i as u8));
        let logs = slot.node().map(|n| n.raft().log());
        for log in logs.into_iter().chain([&disk.log]) {
            let mut i = log.base_index().next();
            while i <= log.last_index() {
                if let Some(e) = log.get(i) {
                    if let Some(Command::Reset { user, .. }) = &e.command {
                        resets.insert((user.0, i, e.term));
                    }
                }
                i = i.next();
            }
        }
    }
    [ALICE, BOB].iter().all(|u| {
        let n = resets.iter().filter(|(user, _, _)| *user == u.0).count();
        n <= usize::from(s.ghost.ke3_delivered.get(u).copied().unwrap_or(0))
    })
}

fn lock_4(_: &VaultModel, s: &VaultState) -> bool {
    if s.ghost.flags.destroyed_key_released {
        return false;
    }
    s.slots.iter().filter_map(|sl| sl.node()).all(|n| {
        n.store().iter().all(|(_, rec)| match rec.tombstone() {
            Some(Tombstone::Destroyed(r)) => {
                rec.active.as_ref().is_none_or(|a| a.registration != r)
                    && rec.staged.as_ref().is_none_or(|st| st.registration != r)
            }
            _ => true,
        })
    })
}

/// LOCK-4 on disk: once an up node has applied the entry that took a
/// registration's key material out of its store (destroyed, deleted,
/// displaced, replaced, or a stage refused), and every write it queued is
/// durable, no record of its disk (each opened as an auditor holding the
/// fleet's keys would, wherever it stands) holds that registration's Stage
/// entry or a stored record of it. A tombstone holds only a reply key,
/// which is not the registration's own secret (it derives from K).
fn lock_4_disk(_: &VaultModel, s: &VaultState) -> bool {
    let stages: Vec<(LogIndex, UserId, RegistrationId)> = s
        .ghost
        .committed
        .iter()
        .filter_map(|(i, (e, _))| match &e.command {
            Some(Command::Stage {
                user, registration, ..
            }) => Some((*i, *user, *registration)),
            _ => None,
        })
        .collect();
    s.slots.iter().enumerate().all(|(k, slot)| {
        let Some(node) = slot.node() else {
            return true;
        };
        if !slot.host.unsynced().is_empty() {
            return true;
        }
        let gone: BTreeSet<RegistrationId> = stages
            .iter()
            .filter(|(i, user, r)| *i <= node.applied() && !holds(node, *user, *r))
            .map(|(_, _, r)| *r)
            .collect();
        gone.is_empty()
            || slot.disk().records().iter().all(|record| {
                audit_record(&SymbolicCrypto, NodeId(k as u8), record)
                    .is_none_or(|opened| !record_holds_material_of(&opened, &gone))
            })
    })
}

/// Whether `node`'s store holds registration `r` of `user` (active or staged).
fn holds(node: &Node, user: UserId, r: RegistrationId) -> bool {
    node.store().get(user).is_some_and(|rec| {
        rec.active.as_ref().is_some_and(|a| a.registration == r)
            || rec.staged.as_ref().is_some_and(|st| st.registration == r)
    })
}

fn record_holds_material_of(record: &DiskRecord<C>, gone: &BTreeSet<RegistrationId>) -> bool {
    let stages = |entries: &[Entry<Command<C>>]| {
        entries.iter().any(|e| {
            matches!(&e.command, Some(Command::Stage { registration, .. }) if gone.contains(registration))
        })
    };
    let stored = |store: &RecordStore<C>| {
        store.iter().any(|(_, rec)| {
            rec.active
                .as_ref()
                .is_some_and(|a| gone.contains(&a.registration))
                || rec
                    .staged
                    .as_ref()
                    .is_some_and(|st| gone.contains(&st.registration))
        })
    };
    match record {
        DiskRecord::Image(d) => {
            d.snapshot.as_ref().is_some_and(|(_, _, st)| stored(st))
                || stages(&d.log.slice_from(d.log.base_index().next(), usize::MAX))
        }
        DiskRecord::Write(DiskWrite::HardState { .. }) => false,
        DiskRecord::Write(DiskWrite::Entries { entries, .. }) => stages(entries),
        DiskRecord::Write(DiskWrite::Snapshot { state, .. }) => stored(state),
    }
}

/// Log matching between two logs, over the indexes both hold: below the
/// highest index where their terms agree, every entry is equal.
fn logs_match<E: Clone + PartialEq>(a: &Log<E>, b: &Log<E>) -> bool {
    let lo = a.base_index().max(b.base_index()).next();
    let hi = a.last_index().min(b.last_index());
    let mut agree = None;
    let mut i = hi;
    while i >= lo && i.0 > 0 {
        if a.term_at(i) == b.term_at(i) {
            agree = Some(i);
            break;
        }
        i = i.prev();
    }
    let Some(top) = agree else {
        return true;
    };
    let mut j = lo;
    while j <= top {
        if a.get(j) != b.get(j) {
            return false;
        }
        j = j.next();
    }
    true
}

fn cons_2(m: &VaultModel, s: &VaultState) -> bool {
    if panicked_with(s, Invariant::Cons2.id()) {
        return false;
    }
    // A down node's log is what its disk would give it back.
    let disks: Vec<_> = s
        .slots
        .iter()
        .enumerate()
        .map(|(i, sl)| sl.node().is_none().then(|| m.durable(s, NodeId(i as u8))))
        .collect();
    let logs: Vec<_> = s
        .slots
        .iter()
        .zip(&disks)
        .map(|(sl, d)| match (sl.node(), d) {
            (Some(n), _) => n.raft().log(),
            (None, Some(d)) => &d.log,
            (None, None) => unreachable!("a down node's disk was opened"),
        })
        .collect();
    for (k, a) in logs.iter().enumerate() {
        for b in &logs[k + 1..] {
            if !logs_match(a, b) {
                return false;
            }
        }
    }
    true
}

/// No index ever had two different committed entries, the implementation
/// never asserted a lost commit, and every leader holds every entry
/// committed in an earlier term (so nothing committed can be lost).
fn cons_3(_: &VaultModel, s: &VaultState) -> bool {
    if s.ghost.flags.commit_conflict || panicked_with(s, Invariant::Cons3.id()) {
        return false;
    }
    s.slots.iter().filter_map(|sl| sl.node()).all(|n| {
        let raft = n.raft();
        if raft.role() != Role::Leader {
            return true;
        }
        s.ghost
            .committed
            .iter()
            .filter(|(_, (_, term))| *term < raft.term())
            .all(|(index, (entry, _))| {
                *index <= raft.log().base_index() || raft.log().get(*index) == Some(entry)
            })
    })
}

fn cons_4(_: &VaultModel, s: &VaultState) -> bool {
    let up: Vec<_> = s.slots.iter().filter_map(|sl| sl.node()).collect();
    let in_order = up.iter().all(|n| {
        let log = n.raft().log();
        let mut i = log.base_index().next();
        while i <= n.applied() {
            let committed = s.ghost.committed.get(&i).map(|(e, _)| e);
            if log.get(i).is_some() && log.get(i) != committed {
                return false;
            }
            i = i.next();
        }
        true
    });
    // Same commands in the same order give the same records.
    let same_store = up.iter().enumerate().all(|(k, a)| {
        up[k + 1..]
            .iter()
            .all(|b| a.applied() != b.applied() || a.store() == b.store())
    });
    in_order && same_store
}

/// Every active record on every node was activated by a request carrying a
/// proof of K (or, with `StageIsGuessable`, was not: the violation).
fn reg_2(_: &VaultModel, s: &VaultState) -> bool {
    s.slots.iter().filter_map(|sl| sl.node()).all(|n| {
        n.store().iter().all(|(_, rec)| {
            rec.active
                .as_ref()
                .is_none_or(|a| s.ghost.activations.contains(&a.registration))
        })
    })
}

/// HOST-1: what the host holds (every node's disk records, the writes
/// queued for its disk, the messages in flight) is sealed, or in the clear
/// only if it carries no secret an HSM keeps: no registration being staged
/// (its password file, wrapped key, verifier and reply key) and no record
/// store holding an active or staged record (a snapshot).
fn host_1(_: &VaultModel, s: &VaultState) -> bool {
    let disks = s.slots.iter().all(|slot| {
        let queued = slot.host.unsynced().iter().map(|(_, op)| op.record());
        slot.disk()
            .records()
            .iter()
            .chain(queued)
            .all(|r| r.sealed.place.is_some() || !record_holds_secrets(&r.sealed.value))
    });
    let net = s
        .net
        .iter()
        .all(|e| e.msg.place.is_some() || !message_holds_secrets(&e.msg.value));
    disks && net
}

fn entries_hold_secrets(entries: &[Entry<Command<C>>]) -> bool {
    entries
        .iter()
        .any(|e| matches!(e.command, Some(Command::Stage { .. })))
}

fn store_holds_secrets(store: &RecordStore<C>) -> bool {
    store
        .iter()
        .any(|(_, r)| r.active.is_some() || r.staged.is_some())
}

fn log_holds_secrets(log: &Log<Command<C>>) -> bool {
    entries_hold_secrets(&log.slice_from(log.base_index().next(), usize::MAX))
}

fn record_holds_secrets(record: &DiskRecord<C>) -> bool {
    match record {
        DiskRecord::Image(d) => {
            d.snapshot
                .as_ref()
                .is_some_and(|(_, _, store)| store_holds_secrets(store))
                || log_holds_secrets(&d.log)
        }
        DiskRecord::Write(DiskWrite::HardState { .. }) => false,
        DiskRecord::Write(DiskWrite::Entries { entries, .. }) => entries_hold_secrets(entries),
        DiskRecord::Write(DiskWrite::Snapshot { state, .. }) => store_holds_secrets(state),
    }
}

fn message_holds_secrets(msg: &Msg) -> bool {
    match msg {
        PeerMessage::Append { entries, .. } => entries_hold_secrets(entries),
        PeerMessage::InstallSnapshot { snapshot, .. } => store_holds_secrets(snapshot),
        _ => false,
    }
}
