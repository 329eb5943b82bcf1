//! CONS-1 to CONS-4, checked on the nodes' own state after every step.
//!
//! - CONS-1: a map term → leader; a second leader in a term is a violation.
//! - CONS-2: every (index, term) pair seen in any log maps to one command
//!   and one previous term. By induction this is the log-matching property.
//! - CONS-3: the *ledger* holds every entry any node ever applied, as the
//!   node reported it ([`Effect::Applied`](backup_vault::vault::io::Effect));
//!   a node applying a different entry at a ledger index is a committed
//!   entry lost or changed. A node applies what it commits in the same step,
//!   so the ledger has every committed index, with no gap.
//!   A node's snapshot, and its log's base, name the committed entry at
//!   their index by its term.
//! - CONS-4: a reference record store applies the ledger in order; every
//!   node's store must equal the reference at the node's applied index.
//!   Stores are compared by [`Fingerprint`], kept per user, so that a step
//!   costs the same whatever the number of users: a node's fingerprint is
//!   read again for the users its applied entries name, for
//!   [`RECHECKED_PER_STEP`] more users in turn (a record changed that no
//!   entry named is found within users / 2 applying steps), and for every
//!   user after a snapshot or a restart and once the run has caught up.
//!
//! The ledger also tells the lockout checks which command a reply reports,
//! and the reference keeps, per user, the record as it stood after each
//! committed command and the step at which the checks learnt of it (the
//! timeline that `answers.rs` judges answers against).

use super::{hash_of, Violation};
use backup_vault::invariant::Invariant;
use backup_vault::vault::crypto::ContentDigest;
use backup_vault::vault::crypto::{RegistrationId, Value, VaultCrypto};
use backup_vault::vault::ids::{LogIndex, NodeId, Term, UserId};
use backup_vault::vault::io::Applied;
use backup_vault::vault::node::{VaultDisk, VaultNode};
use backup_vault::vault::raft::log::Log;
use backup_vault::vault::raft::Role;
use backup_vault::vault::records::{Command, Outcome, RecordStore, Tombstone, UserRecord};
use std::collections::BTreeMap;
use std::ops::Bound;

/// What kind of command an entry holds, without its secrets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A leader's no-op.
    Noop,
    /// Stage.
    Stage,
    /// Activate.
    Activate,
    /// ConsumeAttempt.
    Consume,
    /// Reset.
    Reset,
    /// Delete.
    Delete,
    /// Exhaust.
    Exhaust,
}

/// A committed entry, as the checks need it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Committed {
    /// Its term.
    pub term: Term,
    /// Hash of the whole entry.
    pub hash: u64,
    /// Its kind.
    pub kind: Kind,
    /// Its user, if a command.
    pub user: Option<UserId>,
    /// The registration it names, if any.
    pub registration: Option<RegistrationId>,
}

/// One user's record, as an answer can reveal it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UserView {
    /// The active registration, its guesses left and its content.
    pub active: Option<(RegistrationId, u8, ContentDigest)>,
    /// The staged registration and its content.
    pub staged: Option<(RegistrationId, ContentDigest)>,
    /// Why the last record went.
    pub gone: Option<Tombstone>,
    /// Registrations staged so far.
    pub stages: u64,
}

impl UserView {
    fn of<C: VaultCrypto>(rec: Option<&UserRecord<C>>) -> Self {
        let Some(rec) = rec else {
            return UserView::default();
        };
        UserView {
            active: rec
                .active
                .as_ref()
                .map(|a| (a.registration, a.attempts.remaining(), a.content)),
            staged: rec.staged.as_ref().map(|s| (s.registration, s.content)),
            gone: rec.tombstone(),
            stages: rec.stages,
        }
    }
}

/// A newly committed entry: its index, its summary and its command.
pub type Added<C> = (LogIndex, Committed, Option<Command<C>>);

/// Summarises a command.
pub fn summarize<C: VaultCrypto>(
    command: Option<&Command<C>>,
) -> (Kind, Option<UserId>, Option<RegistrationId>) {
    match command {
        None => (Kind::Noop, None, None),
        Some(c) => {
            let kind = match c {
                Command::Stage { .. } => Kind::Stage,
                Command::Activate { .. } => Kind::Activate,
                Command::ConsumeAttempt { .. } => Kind::Consume,
                Command::Reset { .. } => Kind::Reset,
                Command::Delete { .. } => Kind::Delete,
                Command::Exhaust { .. } => Kind::Exhaust,
            };
            (kind, Some(c.user()), Some(c.registration()))
        }
    }
}

/// How many users' records, beyond those its applied entries name, are
/// read again each time a node applies: the sweep that finds a record
/// changed by no entry.
pub const RECHECKED_PER_STEP: usize = 2;

/// A record store's fingerprint: how many users it holds, and the wrapping
/// sum of one hash per user (of the user id and the whole record). Equal
/// stores have equal fingerprints; two different ones share one with
/// probability about 2^-64. The sum lets one user's record be replaced in
/// the fingerprint without reading the others.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Fingerprint {
    users: usize,
    sum: u64,
}

/// The per-user hashes behind a fingerprint, as last read from a store.
#[derive(Clone, Debug, Default)]
struct Prints {
    hashes: BTreeMap<UserId, u64>,
    /// The wrapping sum of `hashes`.
    sum: u64,
    /// The last user read again by the sweep.
    cursor: Option<UserId>,
}

impl Prints {
    /// Every user of `store`.
    fn of<C: VaultCrypto>(store: &RecordStore<C>) -> Self {
        let mut prints = Prints::default();
        for (user, _) in store.iter() {
            prints.update(store, *user);
        }
        prints
    }

    /// Reads `user`'s record from `store` again.
    fn update<C: VaultCrypto>(&mut self, store: &RecordStore<C>, user: UserId) {
        let new = store.get(user).map(|rec| hash_of(&(user, rec)));
        let old = match new {
            Some(h) => self.hashes.insert(user, h),
            None => self.hashes.remove(&user),
        };
        if let Some(h) = old {
            self.sum = self.sum.wrapping_sub(h);
        }
        if let Some(h) = new {
            self.sum = self.sum.wrapping_add(h);
        }
    }

    /// The fingerprint of the store as last read.
    fn print(&self) -> Fingerprint {
        Fingerprint {
            users: self.hashes.len(),
            sum: self.sum,
        }
    }

    /// Reads the next [`RECHECKED_PER_STEP`] users again, in user order,
    /// wrapping around.
    fn sweep<C: VaultCrypto>(&mut self, store: &RecordStore<C>) {
        for _ in 0..RECHECKED_PER_STEP {
            let after = self.cursor.map_or(Bound::Unbounded, Bound::Excluded);
            let next = self
                .hashes
                .range((after, Bound::Unbounded))
                .next()
                .or_else(|| self.hashes.iter().next())
                .map(|(user, _)| *user);
            let Some(user) = next else {
                return;
            };
            self.update(store, user);
            self.cursor = Some(user);
        }
    }

    /// The fingerprint of `store`, if these prints are up to date with it
    /// (a user added that no entry named shows in the count).
    fn of_store<C: VaultCrypto>(&self, store: &RecordStore<C>) -> Fingerprint {
        Fingerprint {
            users: store.user_count(),
            sum: self.sum,
        }
    }
}

#[derive(Clone, Debug, Default)]
struct NodeSeen {
    commit: LogIndex,
    applied: LogIndex,
    /// (last index, its term) when the uncommitted tail was last checked.
    tail: (LogIndex, Option<Term>),
    /// The node's store as CONS-4 last read it; `None` until read whole.
    prints: Option<Prints>,
}

/// The consensus checks' memory.
pub struct Consensus<C: VaultCrypto> {
    leaders: BTreeMap<Term, NodeId>,
    pairs: BTreeMap<(LogIndex, Term), (u64, Option<Term>)>,
    ledger: BTreeMap<LogIndex, Committed>,
    commands: BTreeMap<LogIndex, Option<Command<C>>>,
    reference: RecordStore<C>,
    ref_applied: LogIndex,
    ref_prints: Prints,
    ref_hashes: BTreeMap<LogIndex, Fingerprint>,
    nodes: Vec<NodeSeen>,
    /// Per user, the record after each committed command, with the step at
    /// which the reference applied it.
    timeline: BTreeMap<UserId, Vec<(u64, UserView)>>,
    /// The step being checked.
    step: u64,
    /// The budget's entries (activations, login starts, resets) the
    /// reference applied since the last [`Consensus::take_budget_entries`],
    /// in log order, each with its outcome.
    budget_entries: Vec<(LogIndex, Command<C>, Outcome)>,
}

impl<C: VaultCrypto> Consensus<C> {
    /// Checks for `nodes` nodes with guess limit `limit`.
    pub fn new(nodes: u8, limit: u8) -> Self {
        let reference = RecordStore::new(limit);
        let ref_prints = Prints::of(&reference);
        let mut ref_hashes = BTreeMap::new();
        ref_hashes.insert(LogIndex(0), ref_prints.print());
        Consensus {
            leaders: BTreeMap::new(),
            pairs: BTreeMap::new(),
            ledger: BTreeMap::new(),
            commands: BTreeMap::new(),
            reference,
            ref_applied: LogIndex(0),
            ref_prints,
            ref_hashes,
            nodes: vec![NodeSeen::default(); usize::from(nodes)],
            timeline: BTreeMap::new(),
            step: 0,
            budget_entries: Vec::new(),
        }
    }

    /// The views of `user`'s record that held at some moment of steps
    /// `from..=to`: the one in force at `from`, and every later one.
    pub fn views_between(&self, user: UserId, from: u64, to: u64) -> Vec<UserView> {
        let Some(line) = self.timeline.get(&user) else {
            return vec![UserView::default()];
        };
        let start = line.partition_point(|(s, _)| *s <= from);
        let at_from = if start == 0 {
            UserView::default()
        } else {
            line[start - 1].1
        };
        std::iter::once(at_from)
            .chain(
                line[start..]
                    .iter()
                    .take_while(|(s, _)| *s <= to)
                    .map(|(_, v)| *v),
            )
            .collect()
    }

    fn note(&mut self, user: UserId) {
        let view = UserView::of(self.reference.get(user));
        let line = self.timeline.entry(user).or_default();
        if line.last().map(|(_, v)| *v) != Some(view) {
            line.push((self.step, view));
        }
    }

    /// The committed entry at `index`, if known.
    pub fn committed(&self, index: LogIndex) -> Option<&Committed> {
        self.ledger.get(&index)
    }

    /// The reference store (the ledger applied in order).
    pub fn reference(&self) -> &RecordStore<C> {
        &self.reference
    }

    /// The highest index the ledger holds without a gap: every entry up to
    /// it was seen applied, in order, by some node.
    pub fn reference_index(&self) -> LogIndex {
        self.ref_applied
    }

    /// The highest commit index node `id` was seen with since it last
    /// restarted.
    pub fn seen_commit(&self, id: NodeId) -> LogIndex {
        self.nodes[usize::from(id.0)].commit
    }

    /// A node restarted: its commit and applied indices start over.
    pub fn restarted(&mut self, id: NodeId) {
        self.nodes[usize::from(id.0)] = NodeSeen::default();
    }

    /// Checks node `id` after it ran; `applied` is every entry it applied
    /// in that step, in order. Returns the ledger entries that this step
    /// added (new commits), for the lockout checks.
    pub fn after_step<'a>(
        &mut self,
        id: NodeId,
        node: &VaultNode<C>,
        step: u64,
        applied: impl IntoIterator<Item = &'a Applied<C>>,
    ) -> Result<Vec<Added<C>>, Violation>
    where
        C: 'a,
    {
        self.step = step;
        let raft = node.raft();
        let i = usize::from(id.0);
        // CONS-1
        if raft.role() == Role::Leader {
            let term = raft.term();
            match self.leaders.get(&term) {
                Some(other) if *other != id => {
                    return Err(Violation::node(
                        Invariant::Cons1,
                        id,
                        format!("two leaders in term {}: n{} and n{}", term.0, other.0, id.0),
                    ));
                }
                Some(_) => {}
                None => {
                    self.leaders.insert(term, id);
                }
            }
        }
        let log = raft.log();
        let base = log.base_index();
        let commit = raft.commit_index();
        // CONS-2 on the uncommitted tail (committed entries are checked
        // against the ledger below).
        let last = log.last_index();
        let tail_key = (last, log.term_at(last));
        let seen = &mut self.nodes[i];
        if seen.tail != tail_key || seen.commit != commit {
            seen.tail = tail_key;
            let from = commit.max(base).0 + 1;
            for k in from..=last.0 {
                let index = LogIndex(k);
                let Some(entry) = log.get(index) else {
                    continue;
                };
                let prev = log.term_at(LogIndex(k - 1));
                let hash = hash_of(entry);
                match self.pairs.get(&(index, entry.term)) {
                    Some(&(h, p)) if h != hash || (p.is_some() && prev.is_some() && p != prev) => {
                        return Err(Violation::node(
                            Invariant::Cons2,
                            id,
                            format!(
                                "n{} holds a different entry (or a different prefix) at index {} term {} than another log",
                                id.0, k, entry.term.0
                            ),
                        ));
                    }
                    Some(_) => {}
                    None => {
                        self.pairs.insert((index, entry.term), (hash, prev));
                    }
                }
            }
        }
        // CONS-3: the entries applied in this step against the ledger.
        let mut added = Vec::new();
        let mut named = Vec::new();
        for a in applied {
            named.push((a.index, a.command.as_ref().map(Command::user)));
            let hash = hash_of(&(a.term, &a.command));
            let (kind, user, registration) = summarize(a.command.as_ref());
            match self.ledger.get(&a.index) {
                Some(c) if c.hash != hash => {
                    return Err(Violation::node(
                        Invariant::Cons3,
                        id,
                        format!(
                            "committed entry {} changed: n{} applies term {} ({:?}) where term {} ({:?}) was applied before",
                            a.index.0, id.0, a.term.0, kind, c.term.0, c.kind
                        ),
                    ));
                }
                Some(_) => {}
                None => {
                    let c = Committed {
                        term: a.term,
                        hash,
                        kind,
                        user,
                        registration,
                    };
                    self.ledger.insert(a.index, c);
                    self.commands.insert(a.index, a.command.clone());
                    added.push((a.index, c, a.command.clone()));
                }
            }
        }
        self.snapshot_point_is_committed(id, node)?;
        self.nodes[i].commit = commit;
        self.advance_reference();
        // CONS-4: the node's store equals the reference at its applied index.
        let applied = node.applied();
        let seen = &mut self.nodes[i];
        if applied != seen.applied {
            // Entries applied one by one from where the node was last seen
            // change only the users they name; a snapshot, a restart or a
            // gap means reading the whole store again.
            let from = seen.applied;
            let in_order = named
                .iter()
                .map(|(index, _)| *index)
                .eq((from.0 + 1..=applied.0).map(LogIndex));
            seen.applied = applied;
            let store = node.store();
            match seen.prints.as_mut().filter(|_| in_order) {
                Some(prints) => {
                    for user in named.iter().filter_map(|(_, user)| *user) {
                        prints.update(store, user);
                    }
                    prints.sweep(store);
                }
                None => seen.prints = Some(Prints::of(store)),
            }
            let print = seen.prints.as_ref().map(|p| p.of_store(store));
            self.compare(id, applied, print)?;
        }
        Ok(added)
    }

    /// CONS-3 at the snapshot point: a snapshot covers committed entries,
    /// so the term it records for its last index, and the term the node's
    /// log takes at its base, is the term of the entry committed there.
    /// A wrong one makes the node's log look as up to date as a later
    /// term's (it wins votes it must lose) and refuse the leader's appends
    /// at that point for ever. Judged against the ledger, which holds every
    /// index some node applied.
    fn snapshot_point_is_committed(
        &self,
        id: NodeId,
        node: &VaultNode<C>,
    ) -> Result<(), Violation> {
        let raft = node.raft();
        let log = raft.log();
        let base = log.base_index();
        let points = [
            (base, log.term_at(base), "log's base"),
            match raft.snapshot() {
                Some((index, term, _)) => (*index, Some(*term), "snapshot"),
                None => (LogIndex(0), None, "snapshot"),
            },
        ];
        for (index, term, what) in points {
            if index == LogIndex(0) {
                continue;
            }
            let Some(c) = self.ledger.get(&index) else {
                continue;
            };
            if term != Some(c.term) {
                return Err(Violation::node(
                    Invariant::Cons3,
                    id,
                    format!(
                        "n{}'s {what} names index {} with term {}, where the committed entry is of term {}",
                        id.0,
                        index.0,
                        term.map_or_else(|| "none".to_owned(), |t| t.0.to_string()),
                        c.term.0
                    ),
                ));
            }
        }
        Ok(())
    }

    /// CONS-4: `print`, node `id`'s store at applied index `applied`, is
    /// the reference's at that index.
    fn compare(
        &self,
        id: NodeId,
        applied: LogIndex,
        print: Option<Fingerprint>,
    ) -> Result<(), Violation> {
        // Every index a node has applied is in the ledger, and the ledger
        // has no gap: the reference has reached it.
        let Some(expected) = self.ref_hashes.get(&applied) else {
            return Err(Violation::node(
                Invariant::Cons4,
                id,
                format!(
                    "n{} has applied up to index {}, past every entry applied in order ({})",
                    id.0, applied.0, self.ref_applied.0
                ),
            ));
        };
        if print != Some(*expected) {
            return Err(Violation::node(
                Invariant::Cons4,
                id,
                format!(
                    "n{}'s record store at applied index {} differs from the committed commands applied in order",
                    id.0, applied.0
                ),
            ));
        }
        Ok(())
    }

    /// CONS-4 over node `id`'s whole store, read afresh (once the run has
    /// caught up: the per-step check reads only part of it).
    ///
    /// # Errors
    /// CONS-4 if the store is not the reference's at the node's applied
    /// index.
    pub fn audit_store(&self, id: NodeId, node: &VaultNode<C>) -> Result<(), Violation> {
        let store = node.store();
        self.compare(id, node.applied(), Some(Prints::of(store).of_store(store)))
    }

    /// The activations, login starts and resets the reference applied
    /// since the last call, in log order, each with the outcome the code's
    /// record rules gave it (judged by `resends.rs`).
    pub fn take_budget_entries(&mut self) -> Vec<(LogIndex, Command<C>, Outcome)> {
        std::mem::take(&mut self.budget_entries)
    }

    /// Applies ledger entries to the reference store in order.
    fn advance_reference(&mut self) {
        loop {
            let next = self.ref_applied.next();
            let Some(command) = self.commands.remove(&next) else {
                break;
            };
            if let Some(c) = command {
                let outcome = self.reference.apply(next, &c);
                self.ref_prints.update(&self.reference, c.user());
                self.note(c.user());
                if matches!(
                    c,
                    Command::Activate { .. }
                        | Command::ConsumeAttempt { .. }
                        | Command::Reset { .. }
                ) {
                    self.budget_entries.push((next, c, outcome));
                }
            }
            self.ref_applied = next;
            self.ref_hashes.insert(next, self.ref_prints.print());
        }
    }
}

/// CONS-3's ground under rollbacks: node `id`'s HSM log mark rises only to
/// what its disk has made durable, for the mark stands for entries the
/// node acknowledged and may never lose (the rollback rules of
/// `raft/watermark.rs` and the final liveness waiver, `unprovable_tail.rs`,
/// rely on it). `mark` is the HSM's mark after a step, `before` the one
/// after the node's previous step, `disk` the log of its synced disk as
/// the simulator holds it (not as the node says): when the mark rises, the
/// disk's last (term, index) is at or past it. A mark above its disk is
/// also what a rolled-back disk shows, but then the mark did not rise.
///
/// # Errors
/// CONS-3 if the mark rose past the synced disk.
pub fn hsm_mark_within_disk<E: Value>(
    id: NodeId,
    mark: (Term, LogIndex),
    before: Option<(Term, LogIndex)>,
    disk: &Log<E>,
) -> Result<(), Violation> {
    let durable = (disk.last_term(), disk.last_index());
    if before.is_none_or(|b| mark <= b) || mark <= durable {
        return Ok(());
    }
    Err(Violation::node(
        Invariant::Cons3,
        id,
        format!(
            "n{}'s HSM raised its log mark to (term {}, index {}), past what its synced disk holds (last term {}, index {}): it would vouch for entries the node has not made durable",
            id.0, mark.0 .0, mark.1 .0, durable.0 .0, durable.1 .0
        ),
    ))
}

/// CONS-3 at the disk: with no write of node `id` in flight, its disk (as
/// the auditor replays it, `Durable::apply` over the records) holds the
/// hard state, log and snapshot point the node holds in memory. Two
/// implementations of one log meet here, so a compaction that drops
/// entries it should keep, or a snapshot base recorded wrong, shows at the
/// sync that made it durable, not at a restart that may never come. The
/// hard state too: a disk left behind the term and vote its node acts on
/// is a rollback that only the HSM hides, and a new HSM (a fault the
/// design takes on any number of nodes) would bring back the earlier term
/// and a second vote in the later one (CONS-1).
///
/// # Errors
/// CONS-1 if the hard states differ; CONS-3 if the logs or snapshot points
/// do.
pub fn disk_holds_the_log<C: VaultCrypto>(
    id: NodeId,
    node: &VaultNode<C>,
    disk: &VaultDisk<C>,
) -> Result<(), Violation> {
    let raft = node.raft();
    let (memory, durable) = ((raft.term(), raft.voted_for()), (disk.term, disk.voted_for));
    if memory != durable {
        return Err(Violation::node(
            Invariant::Cons1,
            id,
            format!(
                "n{} has every write synced, but acts in term {} having voted for {:?} while its disk records term {} and a vote for {:?}: a new HSM on this disk would bring back the earlier term or vote",
                id.0, memory.0 .0, memory.1, durable.0 .0, durable.1
            ),
        ));
    }
    let point = |s: Option<&(LogIndex, Term, _)>| s.map(|(i, t, _)| (i.0, t.0));
    let memory = (
        point(raft.snapshot()),
        raft.log().base_index().0,
        raft.log().base_term().0,
    );
    let durable = (
        point(disk.snapshot.as_ref()),
        disk.log.base_index().0,
        disk.log.base_term().0,
    );
    if memory != durable {
        return Err(Violation::node(
            Invariant::Cons3,
            id,
            format!(
                "n{} holds its snapshot point and log base as {memory:?} in memory, but its synced disk as {durable:?}",
                id.0
            ),
        ));
    }
    if *raft.log() != disk.log {
        let last = (raft.log().last_index().0, raft.log().last_term().0);
        let on_disk = (disk.log.last_index().0, disk.log.last_term().0);
        return Err(Violation::node(
            Invariant::Cons3,
            id,
            format!(
                "n{} has every write synced, but its disk's log (last {on_disk:?}) is not the log it holds (last {last:?})",
                id.0
            ),
        ));
    }
    Ok(())
}

/// CONS-3's ground at a restart: with no write of node `id` in flight, a
/// restart now would put the node in a term at least that of every entry
/// and snapshot its disk holds. It restarts in the later of its disk's hard
/// state and the HSM's (`Raft::with_watermark`); a node that took entries
/// of a term into its log without either recording the term would come
/// back in an earlier one and follow a leader of that earlier term, which
/// overwrites entries a later leader may have committed with its
/// acknowledgement. Shown at the sync that makes the entries durable, not
/// at a crash that may never come.
///
/// # Errors
/// CONS-3 if the disk holds an entry or snapshot of a later term than the
/// node would restart in.
pub fn restart_term_covers_the_disk<C: VaultCrypto>(
    id: NodeId,
    node: &VaultNode<C>,
    disk: &VaultDisk<C>,
) -> Result<(), Violation> {
    let restart = disk.term.max(node.raft().watermark().term);
    let latest = disk
        .log
        .last_term()
        .max(disk.snapshot.as_ref().map_or(Term(0), |(_, t, _)| *t));
    if latest <= restart {
        return Ok(());
    }
    Err(Violation::node(
        Invariant::Cons3,
        id,
        format!(
            "n{}'s synced disk holds entries of term {} but would restart it in term {} (its disk's hard state and its HSM's): it took a term's entries without recording the term, and back from a crash it would follow a leader of an earlier term",
            id.0, latest.0, restart.0
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use backup_vault::vault::crypto::{OprfKeyId, SymKey, SymPassword, SymbolicCrypto};

    type Store = RecordStore<SymbolicCrypto>;

    #[test]
    fn an_hsm_mark_rises_only_within_the_synced_disk() {
        use backup_vault::vault::raft::log::Entry;
        let mut disk: Log<u8> = Log::default();
        for term in [1, 1, 2] {
            disk.push(Entry {
                term: Term(term),
                command: None,
            });
        }
        let n = NodeId(0);
        let at = |t, i| (Term(t), LogIndex(i));
        // Rising to the disk's end, or below it: fine.
        assert!(hsm_mark_within_disk(n, at(2, 3), Some(at(1, 2)), &disk).is_ok());
        assert!(hsm_mark_within_disk(n, at(1, 2), Some(at(1, 1)), &disk).is_ok());
        // Rising past it: the HSM vouches for what no disk holds.
        let past = hsm_mark_within_disk(n, at(2, 4), Some(at(2, 3)), &disk);
        assert!(past.is_err_and(|v| v.invariant == "CONS-3"));
        // Not rising (a disk rolled back under its mark, or the first step
        // seen): nothing to judge.
        assert!(hsm_mark_within_disk(n, at(3, 9), Some(at(3, 9)), &disk).is_ok());
        assert!(hsm_mark_within_disk(n, at(3, 9), None, &disk).is_ok());
    }

    fn stage(user: u64, pw: u8) -> Command<SymbolicCrypto> {
        Command::Stage {
            user: UserId(user),
            registration: RegistrationId(user),
            oprf_key: OprfKeyId([user as u8; 16]),
            ticket_seq: 0,
            content: ContentDigest([pw; 32]),
            password_file: SymPassword(pw),
            wrapped_key: SymKey(1),
            verifier: SymKey(1),
            reply_key: SymKey(2),
            keep_active: None,
        }
    }

    fn activate(user: u64) -> Command<SymbolicCrypto> {
        Command::Activate {
            user: UserId(user),
            registration: RegistrationId(user),
            content: ContentDigest([1; 32]),
        }
    }

    /// The fingerprint kept incrementally equals the one read whole, and
    /// tells stores apart by any one user's record.
    #[test]
    fn an_incremental_fingerprint_is_the_whole_one() {
        let mut a = Store::new(3);
        let mut prints = Prints::of(&a);
        for user in 1..=5 {
            a.apply(LogIndex(user), &stage(user, 1));
            prints.update(&a, UserId(user));
            assert_eq!(prints.print(), Prints::of(&a).print());
        }
        let mut b = a.clone();
        b.apply(LogIndex(6), &activate(3));
        assert_ne!(Prints::of(&a).print(), Prints::of(&b).print());
        assert_eq!(prints.of_store(&a), Prints::of(&a).of_store(&a));
    }

    /// A record changed by no entry a node applied is found by the sweep
    /// within users / RECHECKED_PER_STEP steps, and not before the sweep
    /// reaches it: the sweep is what finds it.
    #[test]
    fn the_sweep_finds_a_record_no_entry_named() {
        let mut reference = Store::new(3);
        for user in 1..=6 {
            reference.apply(LogIndex(user), &stage(user, 1));
        }
        let mut node = reference.clone();
        let mut prints = Prints::of(&node);
        let expected = Prints::of(&reference).print();
        // User 5's record changes with no entry naming it.
        node.apply(LogIndex(7), &activate(5));
        let mut steps = 0;
        while prints.of_store(&node) == expected {
            prints.sweep(&node);
            steps += 1;
            assert!(
                steps <= 6 / RECHECKED_PER_STEP,
                "the sweep never found user 5"
            );
        }
        assert_eq!(steps, 3, "users 1 and 2, 3 and 4, then 5");
        assert_eq!(prints.of_store(&node), Prints::of(&node).of_store(&node));
    }
}
