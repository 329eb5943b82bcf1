//! The invariant IDs of the catalogue (`docs/invariants.md`), as a type.
//!
//! Checkers name what they found with an [`Invariant`], not a string, so a
//! misspelt ID does not compile. Each has its one-line statement here; the
//! table in `docs/architecture.md` must say the same (a test checks it).

use core::fmt;

/// One invariant of the catalogue.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Invariant {
    /// LOCK-1: per record, the password tests against the record's key (OPRF evaluations of inputs the requester chose, from any entry point; a KE2 is one) between two proofs of knowledge never exceed the limit.
    Lock1,
    /// LOCK-2: the attempt is committed at a quorum before KE2 leaves any node.
    Lock2,
    /// LOCK-3: the count is reset only by a verified KE3 or an authenticated change, never by a retry, a replay, a leader change, a restart or a re-registration.
    Lock3,
    /// LOCK-4: once destroyed, a record's key material is erased on every node and no later operation releases it.
    Lock4,
    /// LOCK-5: faults alone (loss, duplication, crashes, leader changes) cost an honest restore at most one attempt per record and budget period.
    Lock5,
    /// CONS-1: at most one leader per term.
    Cons1,
    /// CONS-2: logs that agree on an entry's index and term agree on every entry before it.
    Cons2,
    /// CONS-3: a committed entry is never lost or changed, on any node, across crashes and minority rollbacks, and a leader counts a follower as holding an entry only on that follower's answer of the leader's own term.
    Cons3,
    /// CONS-4: all nodes apply the same commands in the same order; the record store, as clients see it in every answer, is linearizable.
    Cons4,
    /// KEY-1: K is released only to a client that completed login with the current password; no message, disk or cloud object holds K or the password in the clear.
    Key1,
    /// KEY-2: the 64-digit text encodes exactly 256 bits; parse(format(K)) == K; bad text gets an error that says what and where.
    Key2,
    /// REG-1: every registration and login message is bound to one user; one user's messages never touch another's record.
    Reg1,
    /// REG-2: an interrupted or retried registration never leaves a record that can be guessed against while the client believes it is unregistered.
    Reg2,
    /// FMT-1: a backup decrypts only under its own key; any change to header, chunk, order or length is an error, never wrong plaintext.
    Fmt1,
    /// FMT-2: the decoder never panics and never allocates beyond its bound, whatever the bytes.
    Fmt2,
    /// FMT-3: every backup file a client writes has a backup id of its own: no two different files made under one key share one, so no AES-GCM key and nonce ever seal two plaintexts.
    Fmt3,
    /// DUR-1: a backup the client was told is stored is restorable with the right secret after faults heal, unless its record was destroyed by the guess limit.
    Dur1,
    /// DEV-1: a device keeps what its operations did: its mode changes only when backups are turned on or off or a restore sets up a device not in password mode, its key only when backups are turned on or off, its registration only by a password set, changed or logged into or backups turned off, its acknowledged generation never goes back and covers every backup acknowledged or restored on it, and a backup writes generations that never go back, each with one content, names the last in its manifest, and is acknowledged only on an answer that shows its manifest naming it.
    Dev1,
    /// DEV-2: a device tells its user what it found: a restore answers 'wrong key' only when it found a backup made under another key and 'no backup' only when it received none, under other digits or damaged, and a password change replaces the registration the device holds, failing 'not registered' when that is gone, and never hides a destroyed or displaced record behind a registration the user did not ask for, and a password is reported set or changed only once the vault activated it.
    Dev2,
    /// LIVE-1: with a majority of nodes up and connected, a login with the right password eventually succeeds.
    Live1,
    /// LIVE-2: a node helps another start an election (grants it a pre-vote) only for a later term, while it hears no leader, and for a log at least as up to date as its own, and a leader steps down in its own term when, and only when, a quorum stopped answering it, and a node records its vote only for a candidate at least as up to date as its log, and puts it off for the others' word when, and only when, they can clear it (the candidate is behind its counter, not its log), and gives it once they do, and a pre-candidate or candidate gives its election up within its term when, and only when, a leader of that term reaches it: neither a rejoining or lagging node nor the leader itself deposes a leader that a quorum follows.
    Live2,
    /// LIVE-3: once every fault has healed and a majority is up and connected, every node catches up: within a bounded time each node has applied every entry committed before, a lagging, restarted or rolled-back node included.
    Live3,
    /// LIVE-4: a client keeps to its retry policy: it sends one request at most its budget of times, waits after each send as its backoff states (doubling from the first wait to the cap, plus at most a quarter), sends again only after that wait or on an answer that asks for it, moves past a request only on an answer to it or when its budget is spent, reports the vault or the cloud unavailable only then, sends vault requests only to nodes of its cluster and, after a timeout, to another node, never acts on an answer to a request it has moved past or not made yet, and starts an operation over (a login after an expired login, a registration after a refusal that calls for a new one, a backup after a conflict in the cloud) as often as its restart budgets say, never more, and gives up on such an answer only when they are spent.
    Live4,
    /// LIVE-5: once every fault has healed, a device that keeps its key can use it: a backup succeeds and the device's final restore returns it or a later one, and a device in password mode whose record is gone (destroyed, or replaced by another registration) sets its password up again and logs in with it, and a device that turns backups off afterwards has its vault record deleted on the vault's authenticated word and forgets its key (within the final phase's time).
    Live5,
    /// SIM-1: one seed replays to the identical trace.
    Sim1,
    /// HOST-1: nothing a node's host can read or write (its disk, its peer traffic) lets it learn a secret or change a record outside the protocol.
    Host1,
    /// DRV-1: each step of a node keeps the driver contract (`vault/io.rs`) as its driver sees it: the step reports the node's term and role, once and last among its effects, exactly when they differ from before the step.
    Drv1,
    /// LOAD-1: a leader that cannot answer yet (no entry of its own term applied) holds at most 256 client requests without an answer and answers `Retry` to every request beyond them, so that a flood of requests after an election cannot grow its memory.
    Load1,
}

impl Invariant {
    /// Every invariant, in the catalogue's order.
    pub const ALL: [Invariant; 28] = [
        Invariant::Lock1,
        Invariant::Lock2,
        Invariant::Lock3,
        Invariant::Lock4,
        Invariant::Lock5,
        Invariant::Cons1,
        Invariant::Cons2,
        Invariant::Cons3,
        Invariant::Cons4,
        Invariant::Key1,
        Invariant::Key2,
        Invariant::Reg1,
        Invariant::Reg2,
        Invariant::Fmt1,
        Invariant::Fmt2,
        Invariant::Fmt3,
        Invariant::Dur1,
        Invariant::Dev1,
        Invariant::Dev2,
        Invariant::Live1,
        Invariant::Live2,
        Invariant::Live3,
        Invariant::Live4,
        Invariant::Live5,
        Invariant::Sim1,
        Invariant::Host1,
        Invariant::Drv1,
        Invariant::Load1,
    ];

    /// Its ID, as the catalogue writes it (`LOCK-1`).
    pub fn id(self) -> &'static str {
        match self {
            Invariant::Lock1 => "LOCK-1",
            Invariant::Lock2 => "LOCK-2",
            Invariant::Lock3 => "LOCK-3",
            Invariant::Lock4 => "LOCK-4",
            Invariant::Lock5 => "LOCK-5",
            Invariant::Cons1 => "CONS-1",
            Invariant::Cons2 => "CONS-2",
            Invariant::Cons3 => "CONS-3",
            Invariant::Cons4 => "CONS-4",
            Invariant::Key1 => "KEY-1",
            Invariant::Key2 => "KEY-2",
            Invariant::Reg1 => "REG-1",
            Invariant::Reg2 => "REG-2",
            Invariant::Fmt1 => "FMT-1",
            Invariant::Fmt2 => "FMT-2",
            Invariant::Fmt3 => "FMT-3",
            Invariant::Dur1 => "DUR-1",
            Invariant::Dev1 => "DEV-1",
            Invariant::Dev2 => "DEV-2",
            Invariant::Live1 => "LIVE-1",
            Invariant::Live2 => "LIVE-2",
            Invariant::Live3 => "LIVE-3",
            Invariant::Live4 => "LIVE-4",
            Invariant::Live5 => "LIVE-5",
            Invariant::Sim1 => "SIM-1",
            Invariant::Host1 => "HOST-1",
            Invariant::Drv1 => "DRV-1",
            Invariant::Load1 => "LOAD-1",
        }
    }

    /// Its statement, one line.
    pub fn statement(self) -> &'static str {
        match self {
            Invariant::Lock1 => "per record, the password tests against the record's key (OPRF evaluations of inputs the requester chose, from any entry point; a KE2 is one) between two proofs of knowledge never exceed the limit",
            Invariant::Lock2 => "the attempt is committed at a quorum before KE2 leaves any node",
            Invariant::Lock3 => "the count is reset only by a verified KE3 or an authenticated change, never by a retry, a replay, a leader change, a restart or a re-registration",
            Invariant::Lock4 => "once destroyed, a record's key material is erased on every node and no later operation releases it",
            Invariant::Lock5 => "faults alone (loss, duplication, crashes, leader changes) cost an honest restore at most one attempt per record and budget period",
            Invariant::Cons1 => "at most one leader per term",
            Invariant::Cons2 => "logs that agree on an entry's index and term agree on every entry before it",
            Invariant::Cons3 => "a committed entry is never lost or changed, on any node, across crashes and minority rollbacks, and a leader counts a follower as holding an entry only on that follower's answer of the leader's own term",
            Invariant::Cons4 => "all nodes apply the same commands in the same order; the record store, as clients see it in every answer, is linearizable",
            Invariant::Key1 => "K is released only to a client that completed login with the current password; no message, disk or cloud object holds K or the password in the clear",
            Invariant::Key2 => "the 64-digit text encodes exactly 256 bits; parse(format(K)) == K; bad text gets an error that says what and where",
            Invariant::Reg1 => "every registration and login message is bound to one user; one user's messages never touch another's record",
            Invariant::Reg2 => "an interrupted or retried registration never leaves a record that can be guessed against while the client believes it is unregistered",
            Invariant::Fmt1 => "a backup decrypts only under its own key; any change to header, chunk, order or length is an error, never wrong plaintext",
            Invariant::Fmt2 => "the decoder never panics and never allocates beyond its bound, whatever the bytes",
            Invariant::Fmt3 => "every backup file a client writes has a backup id of its own: no two different files made under one key share one, so no AES-GCM key and nonce ever seal two plaintexts",
            Invariant::Dur1 => "a backup the client was told is stored is restorable with the right secret after faults heal, unless its record was destroyed by the guess limit",
            Invariant::Dev1 => "a device keeps what its operations did: its mode changes only when backups are turned on or off or a restore sets up a device not in password mode, its key only when backups are turned on or off, its registration only by a password set, changed or logged into or backups turned off, its acknowledged generation never goes back and covers every backup acknowledged or restored on it, and a backup writes generations that never go back, each with one content, names the last in its manifest, and is acknowledged only on an answer that shows its manifest naming it",
            Invariant::Dev2 => "a device tells its user what it found: a restore answers 'wrong key' only when it found a backup made under another key and 'no backup' only when it received none, under other digits or damaged, and a password change replaces the registration the device holds, failing 'not registered' when that is gone, and never hides a destroyed or displaced record behind a registration the user did not ask for, and a password is reported set or changed only once the vault activated it",
            Invariant::Live1 => "with a majority of nodes up and connected, a login with the right password eventually succeeds",
            Invariant::Live2 => "a node helps another start an election (grants it a pre-vote) only for a later term, while it hears no leader, and for a log at least as up to date as its own, and a leader steps down in its own term when, and only when, a quorum stopped answering it, and a node records its vote only for a candidate at least as up to date as its log, and puts it off for the others' word when, and only when, they can clear it (the candidate is behind its counter, not its log), and gives it once they do, and a pre-candidate or candidate gives its election up within its term when, and only when, a leader of that term reaches it: neither a rejoining or lagging node nor the leader itself deposes a leader that a quorum follows",
            Invariant::Live3 => "once every fault has healed and a majority is up and connected, every node catches up: within a bounded time each node has applied every entry committed before, a lagging, restarted or rolled-back node included",
            Invariant::Live4 => "a client keeps to its retry policy: it sends one request at most its budget of times, waits after each send as its backoff states (doubling from the first wait to the cap, plus at most a quarter), sends again only after that wait or on an answer that asks for it, moves past a request only on an answer to it or when its budget is spent, reports the vault or the cloud unavailable only then, sends vault requests only to nodes of its cluster and, after a timeout, to another node, never acts on an answer to a request it has moved past or not made yet, and starts an operation over (a login after an expired login, a registration after a refusal that calls for a new one, a backup after a conflict in the cloud) as often as its restart budgets say, never more, and gives up on such an answer only when they are spent",
            Invariant::Live5 => "once every fault has healed, a device that keeps its key can use it: a backup succeeds and the device's final restore returns it or a later one, and a device in password mode whose record is gone (destroyed, or replaced by another registration) sets its password up again and logs in with it, and a device that turns backups off afterwards has its vault record deleted on the vault's authenticated word and forgets its key (within the final phase's time)",
            Invariant::Sim1 => "one seed replays to the identical trace",
            Invariant::Host1 => "nothing a node's host can read or write (its disk, its peer traffic) lets it learn a secret or change a record outside the protocol",
            Invariant::Drv1 => "each step of a node keeps the driver contract (`vault/io.rs`) as its driver sees it: the step reports the node's term and role, once and last among its effects, exactly when they differ from before the step",
            Invariant::Load1 => "a leader that cannot answer yet (no entry of its own term applied) holds at most 256 client requests without an answer and answers `Retry` to every request beyond them, so that a flood of requests after an election cannot grow its memory",
        }
    }

    /// The invariant with ID `id`, if any.
    pub fn from_id(id: &str) -> Option<Invariant> {
        Invariant::ALL.into_iter().find(|i| i.id() == id)
    }
}

impl fmt::Display for Invariant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The architecture page's table and this type say the same.
    #[test]
    fn the_architecture_table_matches() {
        let doc = include_str!("../../docs/architecture.md");
        let rows: Vec<(&str, &str)> = doc
            .lines()
            .filter_map(|l| {
                let cells: Vec<&str> = l
                    .strip_prefix("| ")?
                    .strip_suffix(" |")?
                    .split(" | ")
                    .collect();
                match cells[..] {
                    [id, statement] if Invariant::from_id(id).is_some() => Some((id, statement)),
                    _ => None,
                }
            })
            .collect();
        let ours: Vec<(&str, &str)> = Invariant::ALL
            .iter()
            .map(|i| (i.id(), i.statement()))
            .collect();
        assert_eq!(rows, ours);
    }

    #[test]
    fn ids_round_trip() {
        for i in Invariant::ALL {
            assert_eq!(Invariant::from_id(i.id()), Some(i));
        }
        assert_eq!(Invariant::from_id("LOCK-9"), None);
    }
}
