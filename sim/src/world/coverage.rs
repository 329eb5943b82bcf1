//! Coverage counters: events the faults are there to provoke, counted per
//! run and summed by a sweep, like Antithesis' "sometimes" assertions. A
//! fault that never fires tests nothing: a nightly sweep run with
//! `--require-coverage` reports "nothing proved" (exit 7) when a counter
//! stays at zero, however many seeds passed.
//!
//! Each counter is observed from outside the nodes (their logs, terms and
//! commit indices as the checkers read them), never reported by the code
//! under test.

use super::check::budgets::Restart;
use backup_vault::vault::crypto::VaultCrypto;
use backup_vault::vault::ids::NodeId;
use backup_vault::vault::ids::{LogIndex, Term};
use backup_vault::vault::node::{ClientId, RequestId};
use backup_vault::vault::protocol::ClientResponse;
use backup_vault::vault::protocol::LoginId;
use std::collections::{BTreeMap, BTreeSet};

/// The counters of one run (or, summed, of a sweep).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Coverage {
    /// A leader of a term later than every leader seen before.
    pub leader_changes: u64,
    /// An entry of an earlier term committed by a leader of a later term
    /// (Raft's §5.4.2 case: it commits only under an entry of its own term).
    pub earlier_term_commits: u64,
    /// A node came back from a rollback with a log that ends before a
    /// commit index it had been seen with: it lost entries it had
    /// acknowledged, which the quorums' R must cover.
    pub rollbacks_past_commit: u64,
    /// A login finished (the key released) by a leader of a later term
    /// than the entry that consumed its attempt: a resent KE1 was
    /// recognised across a leader change and cost nothing (LOCK-5's case).
    pub logins_across_leader_change: u64,
    /// A record destroyed (by a guess or by `Exhaust`) while some node was
    /// down: the destruction must reach it when it comes back.
    pub destroyed_while_node_down: u64,
    /// A vote recorded by a node whose HSM's counter is ahead of the
    /// candidate's log as its request stated it: a rolled-back node voted
    /// past entries it had lost, on the others' word that no quorum ever
    /// held them (`watermark.rs`). Counted where the vote is decided (the
    /// deferrals checker), not where it leaves: a vote leaves once durable,
    /// and by then the voter's counter may have moved past the candidate's
    /// log for entries it took in since, which is no lost tail.
    pub votes_past_a_lost_tail: u64,
    /// A pre-vote refused by a node that had accepted a leader's message
    /// within the shortest election timeout: the case pre-votes are for (a
    /// rejoining or impatient node kept from deposing a live leader), so
    /// that LIVE-2's leader clause is exercised, not vacuous.
    pub pre_votes_refused_under_a_leader: u64,
    /// Acts of a nemesis schedule (`nemesis.rs`): a schedule that never
    /// acts aims at nothing.
    pub nemesis_acts: u64,
    /// A node still behind the committed log when the run's last operation
    /// ended, which LIVE-3 then waited for: its check is not vacuous.
    pub nodes_behind_at_the_end: u64,
    /// Password registrations (enable or change) an honest device
    /// reported done: a device whose registration fails stays in key mode
    /// and every check still passes, so a vault that refused every
    /// registration would otherwise go unnoticed.
    pub registrations_done: u64,
    /// Restores an honest device finished, its plaintext checked against
    /// what it backed up: a device that can never reach the cloud (its
    /// answers ignored, say) backs up and restores nothing, and every
    /// durability check then holds vacuously.
    pub restores_done: u64,
    /// Logins that gave up because their restart budget was spent
    /// (`check/budgets.rs`): without one, LIVE-4 never saw the budget's
    /// edge, where a login restarts once too often or gives up too soon.
    pub login_budgets_spent: u64,
    /// Registrations that gave up with their restart budget spent.
    pub registration_budgets_spent: u64,
    /// Backups that gave up with their conflict budget spent.
    pub conflict_budgets_spent: u64,
    /// Restores of an honest device that found no backup: where DEV-2
    /// judges that the answer is "no backup" and not "wrong key".
    pub restores_that_found_no_backup: u64,
    /// Password changes of an honest device that failed "not registered"
    /// (the record destroyed or displaced, or the chat server said so):
    /// where DEV-2 judges that a change does not register afresh.
    pub changes_that_found_no_record: u64,
    /// Restores with digits of an honest device that failed after
    /// receiving, intact, a backup made under other digits (left by a
    /// disable that a crash or a lost delete cut short): where DEV-2 judges
    /// that the answer is not "no backup".
    pub restores_that_met_other_digits: u64,
    /// Disables after the heal that deleted the device's vault record and
    /// finished: where LIVE-5 judges that the vault's authenticated
    /// `Deleted` is believed and turning backups off completes.
    pub final_disables_done: u64,
    /// Answers (`AppendReply`, `SnapshotReply`) of an earlier term handled
    /// by a leader: the case where a leader must not count what the answer
    /// says (`check/acks.rs`, CONS-3's ground), so that check is not
    /// vacuous.
    pub stale_answers_to_a_leader: u64,
    /// Client requests that reached a leader before it had committed an
    /// entry of its own term, and that the same leader answered later, in
    /// the same term, with something other than "retry" or "not leader":
    /// the window after an election where a leader holds requests until
    /// it can answer from a store it knows is current, so that the code
    /// that holds them runs.
    pub requests_held_then_served: u64,
    /// A leader that could not answer yet came to hold as many requests
    /// as LOAD-1 allows (`check/load.rs`): where a flood meets the bound,
    /// so that the check of what lies past it is not vacuous.
    pub leader_queues_filled: u64,
    /// A node took the lead with its log behind its own HSM's counter (its
    /// disk lost a tail it had acknowledged), on the others' word that no
    /// quorum held that tail (`raft/watermark.rs`): where the lost-tail
    /// waiver of the final liveness checks (`check/unprovable_tail.rs`)
    /// does not apply and the node itself must lead.
    pub leads_past_own_lost_tail: u64,
    /// A committed login start naming a KE1 already tested in its
    /// registration's budget (a resend, a duplicate, a retry at another
    /// leader): where `check/resends.rs` judges that it is answered from
    /// its first test and never destroys the record.
    pub resent_login_starts: u64,
    /// Client requests that reached a node leading a term older than the
    /// newest term a leader was seen in: a leader replaced without knowing
    /// it yet, which must answer nothing from its store (the read barrier:
    /// `check/answers.rs` judges what it answers).
    pub requests_at_deposed_leaders: u64,
    /// Password restores of an honest device that held one registration
    /// and were released the key of another (the device's own set-up or
    /// change whose end it never saw, typed again by its user): where
    /// DEV-1 judges that the login moves the device to the vault's
    /// registration, so that its later changes and disables name it.
    pub logins_onto_another_registration: u64,
    /// Deletes of an honest device answered by the vault with the live
    /// record of the device's key (`KeyLivesOn`): a registration of its K
    /// it never heard of, which its disable must delete too (REG-2,
    /// LIVE-5), so that the path that follows it runs.
    pub deletes_pointed_at_a_live_record: u64,
    /// An honest device whose backups failed after putting their bytes
    /// more times in a row than its conflict budget allows conflicts:
    /// where a backup must start above the names they left
    /// (`DeviceState::written`), or it can never succeed again (LIVE-5).
    pub failed_backups_past_the_budget: u64,
    /// A backup of an honest device put a name the cloud had stored and
    /// then deleted (a disable cut short by a crash, after a backup whose
    /// crash lost its floor): where the backup's version rule must see
    /// a history not its own and move on (`flows/backup.rs`).
    pub deleted_names_written_again: u64,
    /// A backup of an honest device whose manifest put was refused read
    /// the manifest again and found it naming a generation above the one
    /// it wrote: another device of the same key backed up meanwhile
    /// (`--second-devices`), and the backup must move above it rather
    /// than put its manifest back over it (`flows/backup.rs`, DUR-1).
    pub newer_manifests_met: u64,
}

impl Coverage {
    /// The counters the swarm reaches too rarely for `--require-coverage`
    /// to read a zero as a path that never ran: a leader replaced and still
    /// taking requests needs a new leader elected within check-quorum's
    /// window, which the swarm's drops, delays and crashes mostly outlast
    /// (2 in 200 seeds of the coverage bar), so any change of trajectory
    /// may bring a zero that says nothing about the code. Each is required
    /// by the sweep aimed at it (`--require NAME`): 277 in 100 seeds of
    /// `--faults partition --nemesis resend-to-deposed-leader`. Likewise a
    /// login onto another registration needs a set-up or change whose
    /// activation committed with its answer lost, which the default swarm
    /// brings about 17 times in 300 seeds and the coverage bar's sweep (guess
    /// limit 3, every fault) 4 times in 200: required by the default
    /// sweep (`verify`'s `sim-default`). And a record destroyed while a node
    /// was down needs a destruction while a crash lasts: the coverage bar's
    /// sweep brings 1 to 3 in 200 seeds, the guess limit 1 sweep 9 in 60
    /// (`sim-limit-1` requires it). Failed backups past the conflict budget
    /// come only from the schedule aimed at them (`--nemesis
    /// failed-backups`, verify's `sim-failed-backups`), and a deleted name
    /// written again needs a backup crashed after its put and a disable
    /// crashed after deleting that name (`--nemesis rewritten-name`,
    /// verify's `sim-rewritten-name`). A newer manifest needs a second
    /// device of the same key (`--second-devices`, verify's
    /// `sim-second-devices`).
    pub const AIMED: &'static [&'static str] = &[
        "requests reaching a deposed leader",
        "logins onto another registration",
        "records destroyed while a node was down",
        "deletes pointed at a live record of their key",
        "failed backups past the conflict budget",
        "deleted names written again",
        "newer manifests met by a backup",
    ];

    /// Every counter, with its name as reports print it.
    pub fn named(&self) -> [(&'static str, u64); 29] {
        [
            ("leader changes", self.leader_changes),
            (
                "earlier-term entries committed by a later leader",
                self.earlier_term_commits,
            ),
            (
                "rollbacks past an acknowledged commit",
                self.rollbacks_past_commit,
            ),
            (
                "logins finished across a leader change",
                self.logins_across_leader_change,
            ),
            (
                "records destroyed while a node was down",
                self.destroyed_while_node_down,
            ),
            ("votes past a lost tail", self.votes_past_a_lost_tail),
            (
                "pre-votes refused under a live leader",
                self.pre_votes_refused_under_a_leader,
            ),
            ("nemesis acts", self.nemesis_acts),
            (
                "nodes behind the commit at the end",
                self.nodes_behind_at_the_end,
            ),
            ("password registrations done", self.registrations_done),
            ("restores done", self.restores_done),
            ("login restart budgets spent", self.login_budgets_spent),
            (
                "registration restart budgets spent",
                self.registration_budgets_spent,
            ),
            ("backup conflict budgets spent", self.conflict_budgets_spent),
            (
                "restores that found no backup",
                self.restores_that_found_no_backup,
            ),
            (
                "password changes that found no record",
                self.changes_that_found_no_record,
            ),
            (
                "failed restores that met other digits",
                self.restores_that_met_other_digits,
            ),
            (
                "vault records deleted after the heal",
                self.final_disables_done,
            ),
            (
                "earlier-term answers reaching a leader",
                self.stale_answers_to_a_leader,
            ),
            (
                "requests held by a new leader, then served",
                self.requests_held_then_served,
            ),
            (
                "leader queues filled to their bound",
                self.leader_queues_filled,
            ),
            (
                "leaders behind their own counter",
                self.leads_past_own_lost_tail,
            ),
            ("login starts committed again", self.resent_login_starts),
            (
                "requests reaching a deposed leader",
                self.requests_at_deposed_leaders,
            ),
            (
                "logins onto another registration",
                self.logins_onto_another_registration,
            ),
            (
                "deletes pointed at a live record of their key",
                self.deletes_pointed_at_a_live_record,
            ),
            (
                "failed backups past the conflict budget",
                self.failed_backups_past_the_budget,
            ),
            (
                "deleted names written again",
                self.deleted_names_written_again,
            ),
            ("newer manifests met by a backup", self.newer_manifests_met),
        ]
    }

    /// Adds `other`'s counts to these.
    pub fn add(&mut self, other: &Coverage) {
        self.leader_changes += other.leader_changes;
        self.earlier_term_commits += other.earlier_term_commits;
        self.rollbacks_past_commit += other.rollbacks_past_commit;
        self.logins_across_leader_change += other.logins_across_leader_change;
        self.destroyed_while_node_down += other.destroyed_while_node_down;
        self.votes_past_a_lost_tail += other.votes_past_a_lost_tail;
        self.pre_votes_refused_under_a_leader += other.pre_votes_refused_under_a_leader;
        self.nemesis_acts += other.nemesis_acts;
        self.nodes_behind_at_the_end += other.nodes_behind_at_the_end;
        self.registrations_done += other.registrations_done;
        self.restores_done += other.restores_done;
        self.login_budgets_spent += other.login_budgets_spent;
        self.registration_budgets_spent += other.registration_budgets_spent;
        self.conflict_budgets_spent += other.conflict_budgets_spent;
        self.restores_that_found_no_backup += other.restores_that_found_no_backup;
        self.changes_that_found_no_record += other.changes_that_found_no_record;
        self.restores_that_met_other_digits += other.restores_that_met_other_digits;
        self.final_disables_done += other.final_disables_done;
        self.stale_answers_to_a_leader += other.stale_answers_to_a_leader;
        self.requests_held_then_served += other.requests_held_then_served;
        self.leader_queues_filled += other.leader_queues_filled;
        self.leads_past_own_lost_tail += other.leads_past_own_lost_tail;
        self.resent_login_starts += other.resent_login_starts;
        self.requests_at_deposed_leaders += other.requests_at_deposed_leaders;
        self.logins_onto_another_registration += other.logins_onto_another_registration;
        self.deletes_pointed_at_a_live_record += other.deletes_pointed_at_a_live_record;
        self.failed_backups_past_the_budget += other.failed_backups_past_the_budget;
        self.deleted_names_written_again += other.deleted_names_written_again;
        self.newer_manifests_met += other.newer_manifests_met;
    }

    /// The names of the counters still at zero.
    pub fn zeros(&self) -> Vec<&'static str> {
        self.named()
            .iter()
            .filter(|(_, n)| *n == 0)
            .map(|(name, _)| *name)
            .collect()
    }
}

/// What the counters need to remember during a run.
#[derive(Debug, Default)]
pub struct Observer {
    /// The counts so far.
    pub counts: Coverage,
    highest_leader_term: Option<Term>,
    /// Logins whose KE2 a leader sent for an attempt consumed in an
    /// earlier term.
    resumed: BTreeSet<LoginId>,
    /// Requests that reached a leader of a term before it committed an
    /// entry of that term: which leader, and its term.
    held: BTreeMap<(ClientId, RequestId), (NodeId, Term)>,
}

impl Observer {
    /// Whether `term` is later than every term a leader was seen in.
    pub fn is_new_leader_term(&self, term: Term) -> bool {
        self.highest_leader_term.is_none_or(|t| term > t)
    }

    /// A node leads a new term with its log, before its term's first
    /// entry, behind its own HSM's counter.
    pub fn led_behind_own_counter(&mut self) {
        self.counts.leads_past_own_lost_tail += 1;
    }

    /// A login start naming a KE1 already tested in its budget was
    /// committed (and judged by `check/resends.rs`).
    pub fn resent_login_start(&mut self) {
        self.counts.resent_login_starts += 1;
    }

    /// An honest device's password restore was released the key of a
    /// registration other than the one it held.
    pub fn login_onto_another_registration(&mut self) {
        self.counts.logins_onto_another_registration += 1;
    }

    /// An honest device's backups failed after their puts once more than
    /// its conflict budget in a row.
    pub fn failed_backups_past_the_budget(&mut self) {
        self.counts.failed_backups_past_the_budget += 1;
    }

    /// An honest device's backup put a name the cloud had stored and then
    /// deleted.
    pub fn deleted_name_written_again(&mut self) {
        self.counts.deleted_names_written_again += 1;
    }

    /// An honest device's backup read the manifest again after its put of
    /// it was refused, and found a newer generation named.
    pub fn newer_manifest_met(&mut self) {
        self.counts.newer_manifests_met += 1;
    }

    /// The vault answered an honest device's delete with the live record
    /// of its key.
    pub fn delete_pointed_at_a_live_record(&mut self) {
        self.counts.deletes_pointed_at_a_live_record += 1;
    }

    /// A client request reached a node that leads `term`.
    pub fn request_at_leader(&mut self, term: Term) {
        if self.highest_leader_term.is_some_and(|t| term < t) {
            self.counts.requests_at_deposed_leaders += 1;
        }
    }

    /// A node is leader of `term`.
    pub fn leader(&mut self, term: Term) {
        if self.highest_leader_term.is_none_or(|t| term > t) {
            if self.highest_leader_term.is_some() {
                self.counts.leader_changes += 1;
            }
            self.highest_leader_term = Some(term);
        }
    }

    /// A leader of `leader_term` committed an entry of `entry_term`.
    pub fn committed_by_leader(&mut self, entry_term: Term, leader_term: Term) {
        if entry_term < leader_term {
            self.counts.earlier_term_commits += 1;
        }
    }

    /// A leader of `term` sent KE2 for `login`, whose attempt the entry of
    /// `consumed_in` consumed.
    pub fn ke2(&mut self, login: LoginId, consumed_in: Term, term: Term) {
        if consumed_in < term {
            self.resumed.insert(login);
        }
    }

    /// `login` finished: the key was released.
    pub fn login_ok(&mut self, login: LoginId) {
        if self.resumed.remove(&login) {
            self.counts.logins_across_leader_change += 1;
        }
    }

    /// A node restarted after its disk was rolled back: its log now ends at
    /// `last`; before, it had been seen with commit index `seen_commit`.
    pub fn restarted_after_rollback(&mut self, last: LogIndex, seen_commit: LogIndex) {
        if last < seen_commit {
            self.counts.rollbacks_past_commit += 1;
        }
    }

    /// An honest device reported a password registration done.
    pub fn registration_done(&mut self) {
        self.counts.registrations_done += 1;
    }

    /// An honest device finished a restore.
    pub fn restore_done(&mut self) {
        self.counts.restores_done += 1;
    }

    /// An operation gave up with the restart budget `spent` spent
    /// (`check/budgets.rs` saw it from outside the client).
    pub fn budget_spent(&mut self, spent: Restart) {
        let count = match spent {
            Restart::Login => &mut self.counts.login_budgets_spent,
            Restart::Registration => &mut self.counts.registration_budgets_spent,
            Restart::Conflict => &mut self.counts.conflict_budgets_spent,
        };
        *count += 1;
    }

    /// An honest restore found no backup.
    pub fn found_no_backup(&mut self) {
        self.counts.restores_that_found_no_backup += 1;
    }

    /// An honest password change failed "not registered".
    pub fn change_found_record_gone(&mut self) {
        self.counts.changes_that_found_no_record += 1;
    }

    /// An honest restore with digits failed after receiving a backup made
    /// under other digits.
    pub fn met_other_digits(&mut self) {
        self.counts.restores_that_met_other_digits += 1;
    }

    /// A device turned backups off after the heal, its vault record
    /// deleted.
    pub fn final_disable_done(&mut self) {
        self.counts.final_disables_done += 1;
    }

    /// A leader handled a follower's answer of an earlier term.
    pub fn stale_answer_to_a_leader(&mut self) {
        self.counts.stale_answers_to_a_leader += 1;
    }

    /// A leader that could not answer yet came to hold the bound's worth
    /// of requests.
    pub fn leader_queue_filled(&mut self) {
        self.counts.leader_queues_filled += 1;
    }

    /// `request` reached `node`, leader of `term`, before it had committed
    /// an entry of `term`.
    pub fn request_before_term_opened(
        &mut self,
        request: (ClientId, RequestId),
        node: NodeId,
        term: Term,
    ) {
        self.held.insert(request, (node, term));
    }

    /// `node`, now in `term`, answered `request` with `response`.
    pub fn replied<C: VaultCrypto>(
        &mut self,
        request: (ClientId, RequestId),
        node: NodeId,
        term: Term,
        response: &ClientResponse<C>,
    ) {
        let Some(held) = self.held.remove(&request) else {
            return;
        };
        let served = !matches!(
            response,
            ClientResponse::Retry | ClientResponse::NotLeader { .. }
        );
        if held == (node, term) && served {
            self.counts.requests_held_then_served += 1;
        }
    }

    /// A node voted for a candidate whose log is behind its counter.
    pub fn vote_past_lost_tail(&mut self) {
        self.counts.votes_past_a_lost_tail += 1;
    }

    /// A node refused a pre-vote within the shortest election timeout of
    /// accepting a leader's message.
    pub fn pre_vote_refused_under_a_leader(&mut self) {
        self.counts.pre_votes_refused_under_a_leader += 1;
    }

    /// `nodes` nodes were behind the committed log when the run's last
    /// operation ended.
    pub fn behind_at_the_end(&mut self, nodes: u64) {
        self.counts.nodes_behind_at_the_end += nodes;
    }

    /// `n` records were destroyed in a step while `down` nodes were down.
    pub fn destroyed(&mut self, n: u64, down: usize) {
        if down > 0 {
            self.counts.destroyed_while_node_down += n;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use backup_vault::vault::opaque_crypto::OpaqueCrypto;

    #[test]
    fn each_counter_counts_only_its_event() {
        let mut o = Observer::default();
        o.leader(Term(1));
        o.leader(Term(1));
        assert_eq!(o.counts.leader_changes, 0, "the first leader is no change");
        o.leader(Term(3));
        o.leader(Term(2));
        assert_eq!(o.counts.leader_changes, 1);
        o.committed_by_leader(Term(3), Term(3));
        o.committed_by_leader(Term(2), Term(3));
        assert_eq!(o.counts.earlier_term_commits, 1);
        o.ke2(LoginId(1), Term(2), Term(2));
        o.login_ok(LoginId(1));
        assert_eq!(o.counts.logins_across_leader_change, 0);
        o.ke2(LoginId(2), Term(2), Term(3));
        o.login_ok(LoginId(3));
        assert_eq!(o.counts.logins_across_leader_change, 0);
        o.login_ok(LoginId(2));
        o.login_ok(LoginId(2));
        assert_eq!(o.counts.logins_across_leader_change, 1);
        o.restarted_after_rollback(LogIndex(7), LogIndex(7));
        o.restarted_after_rollback(LogIndex(6), LogIndex(7));
        assert_eq!(o.counts.rollbacks_past_commit, 1);
        o.destroyed(2, 0);
        o.destroyed(1, 1);
        assert_eq!(o.counts.destroyed_while_node_down, 1);
        o.registration_done();
        assert_eq!(o.counts.registrations_done, 1);
        o.vote_past_lost_tail();
        assert_eq!(o.counts.votes_past_a_lost_tail, 1);
        o.pre_vote_refused_under_a_leader();
        assert_eq!(o.counts.pre_votes_refused_under_a_leader, 1);
        o.behind_at_the_end(0);
        o.behind_at_the_end(2);
        assert_eq!(o.counts.nodes_behind_at_the_end, 2);
        o.restore_done();
        assert_eq!(o.counts.restores_done, 1);
        o.budget_spent(Restart::Login);
        o.budget_spent(Restart::Registration);
        o.budget_spent(Restart::Conflict);
        o.budget_spent(Restart::Conflict);
        assert_eq!(
            (
                o.counts.login_budgets_spent,
                o.counts.registration_budgets_spent,
                o.counts.conflict_budgets_spent
            ),
            (1, 1, 2)
        );
        o.found_no_backup();
        o.change_found_record_gone();
        o.change_found_record_gone();
        o.met_other_digits();
        assert_eq!(
            (
                o.counts.restores_that_found_no_backup,
                o.counts.changes_that_found_no_record,
                o.counts.restores_that_met_other_digits
            ),
            (1, 2, 1)
        );
        o.final_disable_done();
        assert_eq!(o.counts.final_disables_done, 1);
        o.stale_answer_to_a_leader();
        assert_eq!(o.counts.stale_answers_to_a_leader, 1);
        type Answer = ClientResponse<OpaqueCrypto>;
        let (a, b, c) = (
            (ClientId(1), RequestId(1)),
            (ClientId(1), RequestId(2)),
            (ClientId(2), RequestId(1)),
        );
        // Held, then refused ("retry"): not served.
        o.request_before_term_opened(a, NodeId(0), Term(4));
        o.replied(a, NodeId(0), Term(4), &Answer::Retry);
        // Held, then served by another leader, or in a later term.
        o.request_before_term_opened(b, NodeId(0), Term(4));
        o.replied(b, NodeId(1), Term(4), &Answer::KeyDestroyed);
        o.request_before_term_opened(c, NodeId(0), Term(4));
        o.replied(c, NodeId(0), Term(5), &Answer::KeyDestroyed);
        // Never held.
        o.replied(a, NodeId(0), Term(4), &Answer::KeyDestroyed);
        assert_eq!(o.counts.requests_held_then_served, 0);
        o.request_before_term_opened(a, NodeId(0), Term(4));
        o.replied(a, NodeId(0), Term(4), &Answer::KeyDestroyed);
        o.replied(a, NodeId(0), Term(4), &Answer::KeyDestroyed);
        assert_eq!(o.counts.requests_held_then_served, 1);
        o.leader_queue_filled();
        assert_eq!(o.counts.leader_queues_filled, 1);
        assert!(o.is_new_leader_term(Term(9)) && !o.is_new_leader_term(Term(2)));
        o.led_behind_own_counter();
        assert_eq!(o.counts.leads_past_own_lost_tail, 1);
        o.resent_login_start();
        assert_eq!(o.counts.resent_login_starts, 1);
        // A request at the newest leader's term, or a later one, is not at
        // a deposed leader; one at an older term is.
        o.leader(Term(7));
        o.request_at_leader(Term(7));
        o.request_at_leader(Term(8));
        assert_eq!(o.counts.requests_at_deposed_leaders, 0);
        o.request_at_leader(Term(6));
        assert_eq!(o.counts.requests_at_deposed_leaders, 1);
        o.login_onto_another_registration();
        assert_eq!(o.counts.logins_onto_another_registration, 1);
        o.delete_pointed_at_a_live_record();
        assert_eq!(o.counts.deletes_pointed_at_a_live_record, 1);
        o.failed_backups_past_the_budget();
        assert_eq!(o.counts.failed_backups_past_the_budget, 1);
        o.deleted_name_written_again();
        assert_eq!(o.counts.deleted_names_written_again, 1);
        o.newer_manifest_met();
        assert_eq!(o.counts.newer_manifests_met, 1);
        assert_eq!(o.counts.zeros(), ["nemesis acts"]);
        assert_eq!(Coverage::default().zeros().len(), 29);
    }
}
