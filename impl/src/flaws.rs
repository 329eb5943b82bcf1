//! Deliberately broken variants of the code, for showing that checks bite.
//!
//! The variants exist only with the `flaws` cargo feature. Without it the
//! enums below have no variants at all, so an `Option<VaultFlaw>` in a
//! configuration can only be `None` and no broken code path can be reached.
//! Even with the feature, a flaw is inert unless an instance opts in (for
//! example [`crate::BackupParams::with_flaw`], `NodeConfig::flaw`,
//! `ClientConfig::flaw`): no global switch exists, so tests that run in
//! parallel cannot affect each other.
//!
//! Each variant names the invariant it breaks; `docs/invariants.md` lists
//! which check catches it and within what bound.

use serde::{Deserialize, Serialize};

/// A deliberate defect in the backup file format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum FormatFlaw {
    /// Never set the last-chunk flag in the nonce, on either side. A file cut
    /// at a chunk boundary then decrypts to a prefix of the plaintext (breaks FMT-1).
    #[cfg(feature = "flaws")]
    SkipLastChunkFlag,
}

/// A deliberate defect in the vault node (consensus, records, login rules).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum VaultFlaw {
    /// The leader sends KE2 as soon as it has proposed `ConsumeAttempt`,
    /// before the attempt is committed (breaks LOCK-2).
    #[cfg(feature = "flaws")]
    Ke2BeforeCommit,
    /// Staging a registration without proof of K keeps the active record
    /// and gives it a fresh guess budget, the CRYPTO 2023 hole (breaks
    /// LOCK-3 and, with enough guesses, LOCK-1).
    #[cfg(feature = "flaws")]
    ResetOnReregistration,
    /// Destroying an exhausted record writes the tombstone but keeps the
    /// active record, wrapped key included (breaks LOCK-4).
    #[cfg(feature = "flaws")]
    KeepKeyOnDestroy,
    /// A staged registration is guessable at once, before the client's
    /// activation proof (breaks REG-2).
    #[cfg(feature = "flaws")]
    StageIsGuessable,
    /// Pending logins are looked up by login id alone, so a KE3 sent under
    /// another user's name finishes that user's login (breaks REG-1).
    #[cfg(feature = "flaws")]
    LoginsKeyedByIdOnly,
    /// A pending login expires the moment it is created, so no login can
    /// ever finish (breaks LIVE-1).
    #[cfg(feature = "flaws")]
    LoginExpiresAtOnce,
    /// The leader commits an entry as soon as it holds it itself (breaks
    /// CONS-3 and CONS-4 when it then crashes).
    #[cfg(feature = "flaws")]
    CommitOnMinority,
    /// A vote is granted and answered without being persisted first, so a
    /// restarted node can vote twice in a term (breaks CONS-1).
    #[cfg(feature = "flaws")]
    VoteWithoutPersisting,
    /// A vote is written to disk but answered before the write is synced:
    /// a crash between the two forgets a vote the candidate counted, and
    /// the restarted node may vote again in the term (breaks CONS-1; the
    /// in-code assert that a granted vote is queued for the disk holds).
    #[cfg(feature = "flaws")]
    VoteBeforeSync,
    /// A node grants every vote request of its current term, even after
    /// voting for another candidate (breaks CONS-1 on a split vote).
    #[cfg(feature = "flaws")]
    DoubleVote,
    /// Quorums are plain majorities whatever R is, so a rolled-back minority
    /// can undo a commit (breaks CONS-3).
    #[cfg(feature = "flaws")]
    IgnoreRollbackTolerance,
    /// A follower appends entries without checking the previous entry's
    /// term (breaks CONS-2).
    #[cfg(feature = "flaws")]
    SkipPrevTermCheck,
    /// A registration request is evaluated under the user's active record's
    /// OPRF key, as when that key depended on the user alone: a free
    /// password test per request, an offline dictionary attack after one
    /// login (breaks LOCK-1).
    #[cfg(feature = "flaws")]
    RegistrationOracle,
    /// The content digest a proof of K names is taken from the request
    /// instead of computed from the sealed registration, so a proof made for
    /// one registration stages another: a password change can be reverted
    /// to an old password with a fresh budget (breaks LOCK-3).
    #[cfg(feature = "flaws")]
    ContentFreeProofs,
    /// Each login request gets a fresh name for its KE1, so a resent or
    /// duplicated KE1 is a new test: faults spend an honest user's guesses
    /// (breaks LOCK-5).
    #[cfg(feature = "flaws")]
    RetriedLoginCostsAttempt,
    /// A leader answers from its record store at once: before it has applied
    /// the entries of earlier terms, and without a read barrier (breaks
    /// CONS-4: answers from a stale state).
    #[cfg(feature = "flaws")]
    StaleAnswers,
    /// A registration is staged whatever OPRF evaluation its password file
    /// was made from, so a relay that answered the registration request
    /// with an evaluation under its own key can test passwords against the
    /// record offline after one login (breaks LOCK-1).
    #[cfg(feature = "flaws")]
    UncheckedRegistrationTranscript,
    /// A registration ticket is taken at its word: its MAC is not checked,
    /// so a relay can stage a registration under a ticket whose claims it
    /// altered, such as the OPRF key of the user's active registration;
    /// re-registering under that key again and again buys a fresh budget of
    /// evaluations under it each time (breaks LOCK-1).
    #[cfg(feature = "flaws")]
    ForgeableTickets,
    /// A registration staged with a proof of K (a password change) may use
    /// any genuine ticket of the user, not only one issued at the current
    /// stage count: whoever holds the current K, such as the chat server
    /// once it displaced the user's record and activated its own, stages a
    /// registration under the OPRF key of one of the user's earlier
    /// registrations again and again, each with a fresh budget of
    /// evaluations under that key (breaks LOCK-1: the key serves a second
    /// registration).
    #[cfg(feature = "flaws")]
    ProofStageReusesTicket,
    /// The OPRF key id a registration ticket names is derived from the user
    /// and the stage count, not drawn fresh for every `RegistrationStart`:
    /// every request at one count is evaluated under the key the user's next
    /// registration will be stored under, so the chat server's probes made
    /// before it are tests of its password (breaks LOCK-1; outside bug
    /// vault-client/21).
    #[cfg(feature = "flaws")]
    TicketKeyPerStage,
    /// A candidate sends its vote requests at once, before the hard state
    /// holding its new term and its vote for itself is durable: a crash
    /// then makes it forget the vote it may have won on (breaks CONS-1;
    /// outside bug consensus/16).
    #[cfg(feature = "flaws")]
    VoteRequestBeforeDurable,
    /// Disk records are written and read in the clear, not sealed: the host
    /// reads password files, verifiers and wrapped keys off the disk, and
    /// can edit records (breaks HOST-1).
    #[cfg(feature = "flaws")]
    UnsealedStorage,
    /// Peer messages travel and are accepted in the clear, not sealed: the
    /// host reads them, and a forged `Append` from a made-up leader carrying
    /// a `Reset` refills a guess budget (breaks HOST-1, and LOCK-1 or
    /// consensus when the forgery lands).
    #[cfg(feature = "flaws")]
    UnauthenticatedPeers,
    /// Destroying, deleting or displacing a record does not compact the
    /// log at once, so its key material stays in log entries on disk until
    /// a routine compaction (breaks LOCK-4 on disk).
    #[cfg(feature = "flaws")]
    ErasureSkipped,
    /// A restarting node forgets what its HSM's counter remembers, and votes
    /// by its disk alone: an operator who rolls back every disk at once
    /// makes the cluster lose committed entries (breaks CONS-3, and LOCK-1
    /// when a consumed attempt is among them).
    #[cfg(feature = "flaws")]
    HsmCounterIgnored,
    /// A node whose disk lost entries it had acknowledged votes past them
    /// on `N - quorum + 1` other nodes' word that they never held them,
    /// without R more for nodes whose HSM was replaced (an empty counter
    /// tells nothing): with every disk rolled back and one HSM replaced,
    /// its word alone elects a leader without a commit (breaks CONS-3).
    #[cfg(feature = "flaws")]
    LostTailWithoutRollbackMargin,
    /// A node grants pre-votes while it hears a live leader (no leader
    /// stickiness): a node that rejoins after a partition, or whose
    /// heartbeats were lost, starts an election that deposes a leader a
    /// quorum still follows (breaks LIVE-2; safety holds).
    #[cfg(feature = "flaws")]
    PreVoteIgnoresLeader,
    /// The leader ignores a follower's answer to an `InstallSnapshot`: the
    /// follower is never moved on to appends, and lags the committed log
    /// by up to a compaction interval for ever, re-sent each newer
    /// snapshot (breaks LIVE-3; safety holds).
    #[cfg(feature = "flaws")]
    SnapshotReplyIgnored,
    /// A leader steps down on every snapshot answer of its own term, as
    /// if the answer came from a newer term: an election for nothing each
    /// time a follower catches up by snapshot (breaks LIVE-2's leader
    /// clause; safety holds).
    #[cfg(feature = "flaws")]
    AbdicateOnSnapshotAnswer,
    /// A node defers its vote for a candidate whose log is behind its own,
    /// where the vote rule refuses at once, as if the others' word could
    /// clear it: the deferral replaces one pending for a candidate the
    /// others' word would elect (breaks LIVE-2; safety holds).
    #[cfg(feature = "flaws")]
    DeferBehindCandidate,
    /// A node refuses at once a candidate behind only its HSM counter, as
    /// if its lost tail had been committed, and never asks the others'
    /// word: where the rolled-back node's vote is needed, no leader is
    /// elected until a holder of the lost entries comes back (breaks
    /// LIVE-2; safety holds).
    #[cfg(feature = "flaws")]
    LostTailRefused,
    /// A node takes the others' word in on a deferred vote and never gives
    /// the vote, however many rule a commit out: the deferral stands until
    /// the term ends (breaks LIVE-2; safety holds).
    #[cfg(feature = "flaws")]
    DeferredVoteNeverGiven,
    /// A node drops its deferred vote on the first word of its term, as if
    /// the term had moved on: the words that follow clear nothing (breaks
    /// LIVE-2; safety holds).
    #[cfg(feature = "flaws")]
    DeferralDroppedOnWord,
    /// A pre-candidate or candidate that accepts a leader's message of its
    /// own term follows it but keeps its candidacy, and counts the grants
    /// still to come (breaks LIVE-2; safety holds).
    #[cfg(feature = "flaws")]
    CandidacyOutlivesLeader,
    /// A node refuses the pre-vote of a candidate behind only its HSM
    /// counter, whatever the candidate says of its own counter: where that
    /// pre-vote is needed, the lost-tail election never starts (breaks
    /// LIVE-2; safety holds).
    #[cfg(feature = "flaws")]
    PreVoteOwnWordIgnored,
    /// A node asked for its word by a node that deferred its vote never
    /// answers: the deferral waits for words that never come (breaks
    /// LIVE-2; safety holds).
    #[cfg(feature = "flaws")]
    AttestUnanswered,
    /// A node whose log is behind only its own HSM counter never runs for
    /// election (the rule before seed 590): where it lost part of a tail
    /// no other node held, its log is still ahead of every other, so it
    /// refuses them all, and where the quorum needs its vote no leader is
    /// ever elected (breaks LIVE-3 and LIVE-1; safety holds).
    #[cfg(feature = "flaws")]
    LostTailCandidacyWithheld,
    /// A restarting node takes the HSM's hard state only when the HSM's
    /// term is newer than its disk's: a vote whose write the disk lost,
    /// the term's own write kept, is forgotten, and the node votes again
    /// in that term (breaks CONS-1; outside bug consensus/04).
    #[cfg(feature = "flaws")]
    SameTermVoteForgotten,
    /// A node behind its own HSM counter leads on a quorum of votes
    /// without the others' word that no quorum held its lost tail: after a
    /// rollback of every disk at R = 0, it wins with the one node that
    /// never held that tail, and a commit is lost (breaks CONS-3).
    #[cfg(feature = "flaws")]
    LostTailLeadsWithoutWord,
    /// A candidate behind its own HSM counter that holds a quorum of votes
    /// leads on the first word that reaches it, however few (trips the
    /// assertion in `become_leader`: PANIC).
    #[cfg(feature = "flaws")]
    LeadsOnFirstWord,
    /// A resent `Activate` of the registration already active is answered
    /// at once from the record store, without the read barrier (reasoned
    /// "it was committed when first answered"): a leader replaced by
    /// another and cut off answers it after the record changed (breaks
    /// CONS-4: an answer from a stale state; outside bug vault-client/03).
    #[cfg(feature = "flaws")]
    ResentActivationUnbarriered,
    /// A delete is carried out whatever its proof of K: the chat server,
    /// which holds the account but never K, deletes the user's record
    /// (breaks LOCK-3: a change without proof of K).
    #[cfg(feature = "flaws")]
    DeleteProofUnchecked,
    /// A delete is also carried out under the proof of K that activated
    /// the registration: the proof's key is checked, not what it says, so
    /// the chat server deletes the record with a proof it relayed for
    /// another purpose (breaks LOCK-3: a change without a proof for it).
    #[cfg(feature = "flaws")]
    DeleteTakesActivationProof,
    /// A pre-candidate counts a grant whatever term it was for: a late
    /// grant from an earlier pre-vote counts toward this one, and an
    /// election starts that no quorum allowed (breaks LIVE-2; safety
    /// holds).
    #[cfg(feature = "flaws")]
    PreVoteStaleGrantsCounted,
    /// A node records its vote for a candidate it refused (one whose log
    /// is behind its own), and so refuses every other candidate of the
    /// term: one vote fewer for the term's election (breaks LIVE-2; safety
    /// holds).
    #[cfg(feature = "flaws")]
    RefusalRecordedAsVote,
    /// A pre-candidate gives up on the first refusal of its own term, as
    /// if the refuser were in a later term: the grants still to come
    /// would have made a quorum, and the election waits a timeout more
    /// (breaks LIVE-2's election clause; safety holds).
    #[cfg(feature = "flaws")]
    PreVoteGivesUpOnRefusal,
    /// A leader counts a follower's answer of an earlier term as one of its
    /// own: a late "matches up to i" from when another log was at those
    /// indices counts the follower as holding entries it does not (breaks
    /// CONS-3's ground, and then CONS-3).
    #[cfg(feature = "flaws")]
    StaleAnswerCounted,
    /// A node answers a snapshot of an earlier term with its log's last
    /// index, in its own term: a leader of that term counts it as matching
    /// up to there, though the tail may be another leader's entries
    /// (breaks CONS-3's ground, and then CONS-3).
    #[cfg(feature = "flaws")]
    StaleSnapshotAnswerClaimsLog,
    /// A leader sends its snapshot labelled with its current term instead
    /// of the term of the entry at the snapshot point: a follower that
    /// installs it takes a wrong term at its log's base, looks as up to
    /// date as a later term's log and refuses the leader's appends there
    /// (breaks CONS-3 at the snapshot point).
    #[cfg(feature = "flaws")]
    SnapshotSentWithCurrentTerm,
    /// A node's word on how far its durable log reached (in a vote request
    /// or an `Attested`) is read from its HSM's counter alone, leaving out
    /// the writes queued before it, whose acknowledgements of an earlier
    /// term leave with the word once the disk syncs: a candidate behind its
    /// counter then leads without an entry that was committed (breaks
    /// CONS-3; found by an outside reviewer in the product).
    #[cfg(feature = "flaws")]
    WordOmitsQueuedWrites,
    /// A node's word in answer to an `Attest` leaves at once, before the
    /// hard state of the term it gives it in is durable: a crash forgets
    /// the term, and the node may acknowledge an earlier term's entry past
    /// its word (breaks CONS-3's ground; the outside bug consensus/33 as a
    /// variant).
    #[cfg(feature = "flaws")]
    WordBeforeDurable,
    /// The exhaustion rule waits for every in-flight command of the user,
    /// login starts included: the chat server resends the last KE1 of a
    /// spent budget faster than commits, and the record is never destroyed
    /// (breaks LOCK-4's bound; found by an outside reviewer in the
    /// product).
    #[cfg(feature = "flaws")]
    ResendsHoldExhaustion,
    /// A record destroyed by the guess limit leaves a change staged beside
    /// it: the chat server holds back the change's activation, the owner's
    /// delete is confirmed ("gone") and the device forgets K, and the
    /// activation replayed then brings K back with a fresh budget (breaks
    /// LOCK-4; found by an outside reviewer in the product).
    #[cfg(feature = "flaws")]
    DestroyKeepsStaged,
    /// A leader drops a user's open logins whenever an entry of the user
    /// applies while the budget is spent, so a login opened for the
    /// owner's last test ends at a resend of its KE1 and cannot finish:
    /// the restart's KE1 is a new test, which destroys the record (breaks
    /// LOCK-5).
    #[cfg(feature = "flaws")]
    SpentDropsOpenLogins,
    /// A node restarted from a rolled-back disk keeps the term and vote
    /// its HSM restored in memory only, until its next change of term or
    /// vote; a node that rejoins its leader's term makes none, so its
    /// synced disk stays behind, and a new HSM on that disk brings back
    /// the earlier term and a second vote in the later one (breaks CONS-1;
    /// found by an outside reviewer in the product).
    #[cfg(feature = "flaws")]
    RestoredHardStateUnwritten,
    /// A copy of a `LoginFinish` (a network duplicate, a resend) that
    /// arrives while the original's `Reset` is in flight is answered
    /// `LoginExpired` at once, which usually reaches the device before the
    /// original's `LoginOk`: after its restarts an honest restore with the
    /// right password fails (breaks LIVE-1; found by a reviewer in the
    /// product).
    #[cfg(feature = "flaws")]
    DuplicateFinishExpiresLogin,
    /// A delete of a registration already gone is answered "gone"
    /// (authenticated) even while a record of the same K lives beside the
    /// tombstone: a device whose fresh staging's `Activated` was lost
    /// forgets K at its disable while that record stays guessable (breaks
    /// REG-2; found by a reviewer in the product).
    #[cfg(feature = "flaws")]
    GoneDespiteLiveKey,
    /// A delete naming a registration that is not live is refused while a
    /// record of the same K lives, without naming that record: a device
    /// whose fresh staging the chat server held back and delivered later
    /// can never have its deletion confirmed, and keeps K for good (breaks
    /// LIVE-5; the product's own first fix for `GoneDespiteLiveKey`, which
    /// the simulator found at seed 296).
    #[cfg(feature = "flaws")]
    KeyLivesOnRefused,
    /// A delete naming a registration that is not live is answered "gone"
    /// only if that registration went last, as before "gone" named the
    /// delete's proof: a device that crashed after its disable followed
    /// `KeyLivesOn` and the vault deleted the live record names the
    /// earlier registration, and every later disable is refused, though no
    /// record of K lives (breaks LIVE-5).
    #[cfg(feature = "flaws")]
    GoneOnlyForTheLastGone,
    /// A record whose budget is spent keeps its key until the next login
    /// start, however long that takes: the leader never proposes `Exhaust`
    /// (breaks LOCK-4's bound: the key is not gone from storage one login
    /// TTL after the last guess).
    #[cfg(feature = "flaws")]
    ExhaustionWaits,
    /// The leader destroys a spent record while a login against it is still
    /// open, or before a login a former leader opened has expired: the
    /// owner's right last guess loses the record (breaks LOCK-4's rule).
    #[cfg(feature = "flaws")]
    ExhaustDuringLogin,
    /// The record store is built with one guess more than the configured
    /// limit, as a `<=` where a `<` belongs would: `limit + 1` password
    /// tests before the record is destroyed (breaks LOCK-1). The lockout
    /// off-by-one that the model checker's slice must catch.
    #[cfg(feature = "flaws")]
    LimitOffByOne,
    /// A vote goes to the candidate with the longer log, whatever the
    /// term of its last entry (Raft's up-to-date rule without its first
    /// key): a node that led in an old term and kept appending there can
    /// win against nodes holding a newer term's commits, and overwrite them
    /// (breaks CONS-3).
    #[cfg(feature = "flaws")]
    VoteByLogLength,
    /// A compaction rewrites the disk without the entries after the
    /// snapshot point: entries the node acknowledged vanish from its disk
    /// (breaks CONS-3 at the disk, and after a restart a commit).
    #[cfg(feature = "flaws")]
    CompactionDropsTail,
    /// A delete takes the user's active registration, whichever one it
    /// names: a delete validated against a registration that an activation
    /// ordered before it replaced removes the new one (breaks CONS-4).
    #[cfg(feature = "flaws")]
    DeleteIgnoresId,
    /// A delete takes the user's staged registration, whichever one it
    /// names, once the one it names is no longer active: a delete decided
    /// after a stage it was not checked against (someone's registration,
    /// ordered between the delete's check and its commit, that displaced
    /// the one it names) removes that stage, and the active registration
    /// if there is one, where the rules answer "stale" (breaks CONS-4).
    #[cfg(feature = "flaws")]
    DeleteTakesStaged,
    /// An activation of the staged registration is taken on its content
    /// alone, its proof unchecked: whoever saw the stage go by (the chat
    /// server) activates it, and the count is reset without an
    /// authenticated change (breaks LOCK-3; the history check sees
    /// `Activated` where the rules refuse the proof, CONS-4).
    #[cfg(feature = "flaws")]
    ActivateWithoutProof,
    /// A login finishes against whatever registration is active when its
    /// KE3 arrives, even one that replaced the registration its KE2 was
    /// made for: a proof for the old password releases the key under the
    /// new one and resets the new registration's count (breaks LOCK-3;
    /// the history check sees `LoginOk` where the rules answer "expired",
    /// CONS-4).
    #[cfg(feature = "flaws")]
    LoginAcrossChange,
    /// A delete matches only the user's active registration, as if a
    /// staged one were not yet the user's: a delete naming the staged
    /// registration is stale, answered "retry", and the client's "turn
    /// backups off" never takes effect during a password change (breaks
    /// CONS-4: the store departs from the record rules it specifies; no
    /// history check sees it, since a retry is "not decided yet", so the
    /// model's "a delete removes a staged registration" finds no example).
    #[cfg(feature = "flaws")]
    DeleteSparesStaged,
    /// A delete matches only a staged registration, as if deleting were
    /// cancelling a password change: the owner's delete of its active
    /// registration is stale, answered "retry", and the record stays
    /// guessable (breaks CONS-4 as [`VaultFlaw::DeleteSparesStaged`] does;
    /// the model's "a delete removes the active registration" finds no
    /// example).
    #[cfg(feature = "flaws")]
    DeleteSparesActive,
    /// A step that changes the node's term or role does not report it
    /// (`Effect::Role`): a driver that records roles from the reports (the
    /// runtime's status file, where `bvault cluster` looks for the leader)
    /// keeps the old role until something else makes it look (breaks
    /// DRV-1).
    #[cfg(feature = "flaws")]
    RoleChangeUnreported,
    /// An activation naming the active registration is taken as a resend
    /// of the one that activated it, whatever content it names: the chat
    /// server's replay of the owner's activation with the content changed
    /// is refused as a bad proof, and the owner's own is answered
    /// `Activated` for a content it did not seal, where the rules know no
    /// such registration (breaks CONS-4).
    #[cfg(feature = "flaws")]
    ResentActivationById,
    /// The read barrier releases an answer read from the record store
    /// once the commit index reaches the log's last index at the read,
    /// rather than passes it: a leader whose log was all committed answers
    /// at once, with no entry of its own committed since, so a leader cut
    /// off from the others answers from its store after a new leader has
    /// changed the record (breaks CONS-4: an answer from a stale state).
    #[cfg(feature = "flaws")]
    ReadBarrierAtCommit,
    /// Check-quorum never steps a leader down: one cut off from the others
    /// leads on, taking requests it can never answer, until it hears a
    /// later term (breaks LIVE-2's leader clause; safety holds).
    #[cfg(feature = "flaws")]
    CheckQuorumSkipped,
    /// A leader that cannot serve yet queues every request it gets, without
    /// bound, where it should answer `Retry` beyond its queue's size: a
    /// flood of requests after an election grows its memory without limit
    /// (breaks LOAD-1).
    #[cfg(feature = "flaws")]
    UnboundedQueue,
    /// A peer message that does not open as sealed for its link is opened
    /// as if sealed for another receiver: a seal that binds the sender but
    /// not the receiver, so the host can hand node B a vote node A was
    /// given (breaks HOST-1; a misdirected vote elects two leaders).
    #[cfg(feature = "flaws")]
    MisdirectedPeers,
    /// A leader commits an entry of an earlier term once a quorum holds
    /// it, without an entry of its own term above it: Raft's figure 8, a
    /// "committed" entry a later leader may overwrite (breaks CONS-3).
    #[cfg(feature = "flaws")]
    CommitEarlierTermByCount,
    /// After a snapshot replaced the store, the index of spent budgets is
    /// only pruned, never added to: a node that caught up by snapshot while
    /// a budget was spent never destroys that record when it leads (breaks
    /// LOCK-4's timing).
    #[cfg(feature = "flaws")]
    SnapshotPrunesSpentIndex,
    /// The durable log end is taken to only grow: after a truncation the
    /// marks behind it are skipped, so the HSM's counter and the commit
    /// rule read a durable log the node no longer has (breaks the
    /// assertion in `Raft::persisted`, CONS-3's ground).
    #[cfg(feature = "flaws")]
    DurableIndexOnlyGrows,
    /// A candidate counts every granted vote it handles, whatever term it
    /// was granted in: a late grant of its earlier candidacy counts in the
    /// current one, though its voter may have voted for a rival since
    /// (breaks CONS-1; outside bug consensus/26).
    #[cfg(feature = "flaws")]
    StaleVotesCounted,
    /// A login opened for a KE1 resent against a spent budget lives a
    /// whole login TTL from the resend, as any other: a party that resends
    /// the last KE1 faster than the TTL keeps the spent record alive for
    /// ever (breaks LOCK-4).
    #[cfg(feature = "flaws")]
    ResentLoginRenewsExpiry,
    /// A hard state with no vote (a term learned from a leader's append,
    /// an Attest or a refusal) is kept in memory only: the node takes the
    /// term's entries onto its disk and, back from a crash, would follow a
    /// leader of an earlier term (breaks CONS-3's ground at a restart;
    /// outside bug consensus/31).
    #[cfg(feature = "flaws")]
    TermWrittenOnlyWithVote,
    /// A `LoginFinish` of a known, unexpired login proposes the `Reset` of
    /// its budget before its KE3 is checked: a KE3 that proves nothing
    /// (garbage, a forgery) is answered `WrongPassword` and still refills
    /// the budget, so the chat server sends one after each wrong guess and
    /// guesses for ever (breaks LOCK-3 and LOCK-1; outside bug
    /// vault-client/19).
    #[cfg(feature = "flaws")]
    UnverifiedFinishResets,
}

/// A deliberate defect in the client.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ClientFlaw {
    /// Backups are written and read with [`FormatFlaw::SkipLastChunkFlag`]
    /// (breaks FMT-1 when the cloud serves a truncated file).
    #[cfg(feature = "flaws")]
    SkipLastChunkFlag,
    /// The manifest carries K in the clear after its MAC (breaks KEY-1).
    #[cfg(feature = "flaws")]
    KeyInManifest,
    /// A restore accepts a backup older than the newest one the device was
    /// told is stored (breaks DUR-1).
    #[cfg(feature = "flaws")]
    AcceptOlderGeneration,
    /// Disable forgets K on any answer that says the record is gone,
    /// authenticated or not, so a forged "not registered" leaves a guessable
    /// record behind a key nobody holds any more (breaks REG-2: the client
    /// believes it is unregistered while its record can be guessed against).
    #[cfg(feature = "flaws")]
    UnauthenticatedDelete,
    /// Disable takes the registration a `KeyLivesOn` answer names without
    /// checking its tag, so a chat server's forgery makes the device name,
    /// from then on, a registration the vault never made (breaks DEV-1).
    #[cfg(feature = "flaws")]
    UnverifiedKeyLivesOn,
    /// Disable takes an authentic `Deleted` about its registration without
    /// checking that it names the proof of its own pending delete: one the
    /// chat server earned with a proof of its own, which the vault cannot
    /// check against a tombstone, or kept from an earlier delete, makes the
    /// device forget K while a record of K lives (breaks REG-2).
    #[cfg(feature = "flaws")]
    GoneForAnyProof,
    /// A device in key mode turning password mode on names the
    /// registration only once its `Activated` arrives: with that answer
    /// lost, the device names none, and its disable forgets K without
    /// asking the vault while the record of K lives (breaks REG-2).
    #[cfg(feature = "flaws")]
    StagedLeftUnnamed,
    /// A registration named mid-operation is not saved before the request
    /// that acts on it goes out (no `Output::Persist`): a crash then
    /// restores a device in key mode that names none, and its disable
    /// forgets K without asking the vault while the record of K lives
    /// (breaks REG-2).
    #[cfg(feature = "flaws")]
    NamedNotSaved,
    /// Registration takes an "activated" answer carrying the tag it already
    /// checked on the "staged" answer for the same registration: the tag is
    /// the vault's, under the device's K, but about another statement, so a
    /// chat server that replays it makes the device report the password
    /// set for a record that was never activated (breaks DEV-2).
    #[cfg(feature = "flaws")]
    StagedTagTakenForActivation,
    /// The client never asks to be woken: its answer deadline is not
    /// reported to the driver, so a lost request or answer leaves it
    /// waiting for ever (breaks LIVE-1: a device busy when the final
    /// restores begin must finish within their time).
    #[cfg(feature = "flaws")]
    NeverArmsTimeout,
    /// Cloud answers are matched against the wrong kind of awaited call
    /// (the vault's), so every answer the client awaits from the cloud is
    /// dropped as stale: no backup or restore ever completes, and every
    /// durability check holds for want of a promise (breaks DUR-1 in
    /// substance; the sweep's coverage bar catches it: no restore done).
    #[cfg(feature = "flaws")]
    IgnoresCloudAnswers,
    /// Every resend waits as long as the first send: the backoff never
    /// doubles, so clients that lost a leader come back at the same pace
    /// however long it stays away (breaks LIVE-4).
    #[cfg(feature = "flaws")]
    FlatBackoff,
    /// A restore with the 64 digits sets key mode even on a device in
    /// password mode: the device stops using the vault that still keeps its
    /// key (breaks DEV-1).
    #[cfg(feature = "flaws")]
    KeyRestoreDropsPasswordMode,
    /// A backup that finds the manifest naming an older generation than its
    /// own re-encrypts as the generation after that one: it writes a
    /// generation it already wrote, with other bytes, or goes back (breaks
    /// DEV-1).
    #[cfg(feature = "flaws")]
    BackupRewritesGeneration,
    /// A backup's manifest names the generation before the one it wrote:
    /// the hint lags, and restores that trust it find an older backup
    /// first (breaks DEV-1; no restore fails, since the listing still
    /// finds the newest).
    #[cfg(feature = "flaws")]
    ManifestLags,
    /// A backup whose manifest put is refused acknowledges once it has
    /// read the manifest, whatever that names, instead of putting its own
    /// again: the hint keeps naming an older backup (breaks DEV-1; no
    /// restore fails, since the listing still finds the newest).
    #[cfg(feature = "flaws")]
    AcknowledgedPastManifestConflict,
    /// A restore that found only damaged backups says there is no backup:
    /// the user is told there is nothing to restore when what is there was
    /// damaged on the way (breaks DEV-2).
    #[cfg(feature = "flaws")]
    DamageIsNoBackup,
    /// A backup fails at its first conflict (a lost write, a generation
    /// another writer or an earlier interrupted backup holds, a manifest
    /// moved on) instead of spending its budget: a device whose interrupted
    /// backup left its next generation taken can never back up again
    /// (breaks LIVE-5).
    #[cfg(feature = "flaws")]
    GivesUpAtFirstConflict,
    /// Turning password mode on again fails "not registered" when the vault
    /// refuses the registration the device names to replace (destroyed, or
    /// replaced by another), instead of registering afresh: a device whose
    /// record is gone can never set a password up again (breaks LIVE-5).
    #[cfg(feature = "flaws")]
    EnableGivesUpOnStaleRegistration,
    /// Every restart budget ignored: a login restarts on every
    /// `LoginExpired`, a registration on every refusal that calls for a new
    /// one, a backup never runs out of conflicts. Against a peer that keeps
    /// sending it back, the operation never ends (breaks LIVE-4's budgets).
    #[cfg(feature = "flaws")]
    RestartsPastBudget,
    /// A password change whose registration is gone (destroyed by
    /// guessing, or displaced) registers the key afresh and reports the
    /// password changed: the user never learns the record was destroyed
    /// (breaks DEV-2).
    #[cfg(feature = "flaws")]
    ChangeRegistersAfresh,
    /// A restore that finds no backup at all says the key is wrong: the
    /// user is sent to check digits that were right (breaks DEV-2).
    #[cfg(feature = "flaws")]
    NothingFoundIsWrongKey,
    /// A restore that finds only backups made under another key says there
    /// is no backup: the user is told there is nothing to restore when
    /// there is, under the key they had before (breaks DEV-2).
    #[cfg(feature = "flaws")]
    OtherKeyIsNoBackup,
    /// A disable takes the vault's authenticated `Deleted` for its own
    /// registration as one about another and waits on: turning backups
    /// off never finishes, even with every fault healed (breaks LIVE-5).
    #[cfg(feature = "flaws")]
    IgnoresOwnDeletion,
    /// A backup whose read-back finds its object missing takes that for
    /// the cloud's read-after-write lag and goes on to the manifest: a
    /// write the cloud lost is acknowledged (breaks DUR-1; outside bug
    /// vault-client/14).
    #[cfg(feature = "flaws")]
    ReadbackMissingTakenAsLag,
    /// A password change leaves the device on the registration it
    /// replaced: its disable then deletes a registration that is gone and
    /// never the one that holds K (breaks DEV-1; outside bug
    /// vault-client/23).
    #[cfg(feature = "flaws")]
    ChangeKeepsOldRegistration,
    /// A restore tries the generation the manifest names before every
    /// listed one: a manifest left behind (a lost or stale put) sets a new
    /// device up from an older backup while a newer one is listed (breaks
    /// DUR-1; outside bug vault-client/22).
    #[cfg(feature = "flaws")]
    RestoreTriesManifestFirst,
    /// A restore adds the generation the manifest names to its candidates
    /// only when the listing finds no backup at all: a listing that leaves
    /// out the newest backup hides the generation the device's own
    /// manifest names (breaks DUR-1; outside bug vault-client/33).
    #[cfg(feature = "flaws")]
    ManifestOnlyIfListingEmpty,
    /// A password login leaves the device on the registration it held,
    /// not the one the vault released K for: after the device's own change
    /// whose answer was lost, its later changes and disables name a
    /// replaced registration (breaks DEV-1; outside bug vault-client/37).
    #[cfg(feature = "flaws")]
    LoginKeepsRegistration,
    /// A password restore on a device that holds a key takes whatever key
    /// the vault releases, another device's included, before the restore's
    /// cloud half has run: the device forgets its own key, and with it the
    /// backups only that key opens (breaks DEV-1; found by a reviewer in
    /// the product).
    #[cfg(feature = "flaws")]
    RestoreReplacesOwnKey,
    /// A password change whose staging is refused "unknown registration"
    /// or "bad proof" (unauthenticated answers, which the chat server can
    /// forge) fails and forgets the device's registration: its later
    /// disable skips the vault and forgets K while the record stays
    /// (breaks DEV-1; outside bug vault-client/44).
    #[cfg(feature = "flaws")]
    RefusedChangeForgetsRegistration,
    /// A `NotLeader` that names no leader (an election is on) sends the
    /// request again at once, to the next node, instead of waiting for the
    /// deadline: the retry budget is spent within milliseconds (breaks
    /// LIVE-4; outside bug vault-client/46).
    #[cfg(feature = "flaws")]
    HintlessNotLeaderResends,
    /// A backup that moves to another generation (its name taken, or the
    /// manifest ahead) keeps the backup id and nonce prefix it drew first:
    /// two files under one key then share their payload key and nonces,
    /// and the two tags of a chunk give its GHASH key away (breaks FMT-3).
    #[cfg(feature = "flaws")]
    BackupIdReused,
    /// A backup takes its put of `backups/<g>` for a fresh name whatever
    /// version answers it: after a disable cut short by a crash deleted a
    /// generation written but never acknowledged, the device keeps K and
    /// writes that generation again with other bytes, and a cloud serving
    /// the deleted version hands a restore bytes the user never backed up
    /// as that generation (breaks FMT-1).
    #[cfg(feature = "flaws")]
    BackupReusesDeletedGeneration,
    /// A backup starts at the generation after the acknowledged one,
    /// whatever names the device's failed backups left above it: each is a
    /// conflict again, and once they outnumber the conflict budget no
    /// backup succeeds, even with the cloud healed (breaks LIVE-5).
    #[cfg(feature = "flaws")]
    BackupStartsAtAcknowledged,
    /// A backup whose manifest put is refused, and whose read of the
    /// manifest then names a newer generation (another device of the same
    /// key backed up meanwhile), puts its own manifest over it anyway: the
    /// manifest goes back, and the newer backup, acknowledged to the other
    /// device, is no longer the one it names (breaks DUR-1).
    #[cfg(feature = "flaws")]
    BackupIgnoresNewerManifest,
    /// A backup that meets a name another writer holds moves to the next
    /// generation without reading the manifest: a device idle while another
    /// device of its key backed up more times than the conflict budget
    /// meets their names one by one and fails, with the cloud healed
    /// (breaks LIVE-5).
    #[cfg(feature = "flaws")]
    BackupWalksTakenNames,
    /// A manifest that does not open under K, damaged on the way, is put
    /// over: at discovery its version is taken, and after a refused put it
    /// is overwritten at once. A damaged read hides a newer generation of
    /// another device, and the manifest goes back below it (breaks DUR-1).
    #[cfg(feature = "flaws")]
    BackupPutsOverUnopenedManifest,
    /// A disable leaves the device's written floor where it was, below the
    /// names another device of K wrote and it deleted: turned on again,
    /// the device's backups meet those deleted names one by one, more than
    /// the conflict budget, and fail with the cloud healed (breaks LIVE-5).
    #[cfg(feature = "flaws")]
    DisableForgetsDeletedNames,
}

/// Every vault flaw, for command lines and sweeps.
pub const VAULT_FLAWS: &[VaultFlaw] = &[
    #[cfg(feature = "flaws")]
    VaultFlaw::Ke2BeforeCommit,
    #[cfg(feature = "flaws")]
    VaultFlaw::ResetOnReregistration,
    #[cfg(feature = "flaws")]
    VaultFlaw::KeepKeyOnDestroy,
    #[cfg(feature = "flaws")]
    VaultFlaw::StageIsGuessable,
    #[cfg(feature = "flaws")]
    VaultFlaw::LoginsKeyedByIdOnly,
    #[cfg(feature = "flaws")]
    VaultFlaw::LoginExpiresAtOnce,
    #[cfg(feature = "flaws")]
    VaultFlaw::CommitOnMinority,
    #[cfg(feature = "flaws")]
    VaultFlaw::VoteWithoutPersisting,
    #[cfg(feature = "flaws")]
    VaultFlaw::VoteBeforeSync,
    #[cfg(feature = "flaws")]
    VaultFlaw::DoubleVote,
    #[cfg(feature = "flaws")]
    VaultFlaw::IgnoreRollbackTolerance,
    #[cfg(feature = "flaws")]
    VaultFlaw::SkipPrevTermCheck,
    #[cfg(feature = "flaws")]
    VaultFlaw::RegistrationOracle,
    #[cfg(feature = "flaws")]
    VaultFlaw::ContentFreeProofs,
    #[cfg(feature = "flaws")]
    VaultFlaw::RetriedLoginCostsAttempt,
    #[cfg(feature = "flaws")]
    VaultFlaw::StaleAnswers,
    #[cfg(feature = "flaws")]
    VaultFlaw::UncheckedRegistrationTranscript,
    #[cfg(feature = "flaws")]
    VaultFlaw::ForgeableTickets,
    #[cfg(feature = "flaws")]
    VaultFlaw::ProofStageReusesTicket,
    #[cfg(feature = "flaws")]
    VaultFlaw::TicketKeyPerStage,
    #[cfg(feature = "flaws")]
    VaultFlaw::VoteRequestBeforeDurable,
    #[cfg(feature = "flaws")]
    VaultFlaw::UnsealedStorage,
    #[cfg(feature = "flaws")]
    VaultFlaw::UnauthenticatedPeers,
    #[cfg(feature = "flaws")]
    VaultFlaw::ErasureSkipped,
    #[cfg(feature = "flaws")]
    VaultFlaw::HsmCounterIgnored,
    #[cfg(feature = "flaws")]
    VaultFlaw::LostTailWithoutRollbackMargin,
    #[cfg(feature = "flaws")]
    VaultFlaw::PreVoteIgnoresLeader,
    #[cfg(feature = "flaws")]
    VaultFlaw::SnapshotReplyIgnored,
    #[cfg(feature = "flaws")]
    VaultFlaw::AbdicateOnSnapshotAnswer,
    #[cfg(feature = "flaws")]
    VaultFlaw::DeferBehindCandidate,
    #[cfg(feature = "flaws")]
    VaultFlaw::LostTailRefused,
    #[cfg(feature = "flaws")]
    VaultFlaw::DeferredVoteNeverGiven,
    #[cfg(feature = "flaws")]
    VaultFlaw::DeferralDroppedOnWord,
    #[cfg(feature = "flaws")]
    VaultFlaw::CandidacyOutlivesLeader,
    #[cfg(feature = "flaws")]
    VaultFlaw::PreVoteOwnWordIgnored,
    #[cfg(feature = "flaws")]
    VaultFlaw::AttestUnanswered,
    #[cfg(feature = "flaws")]
    VaultFlaw::LostTailCandidacyWithheld,
    #[cfg(feature = "flaws")]
    VaultFlaw::SameTermVoteForgotten,
    #[cfg(feature = "flaws")]
    VaultFlaw::LostTailLeadsWithoutWord,
    #[cfg(feature = "flaws")]
    VaultFlaw::LeadsOnFirstWord,
    #[cfg(feature = "flaws")]
    VaultFlaw::ResentActivationUnbarriered,
    #[cfg(feature = "flaws")]
    VaultFlaw::DeleteProofUnchecked,
    #[cfg(feature = "flaws")]
    VaultFlaw::DeleteTakesActivationProof,
    #[cfg(feature = "flaws")]
    VaultFlaw::PreVoteStaleGrantsCounted,
    #[cfg(feature = "flaws")]
    VaultFlaw::RefusalRecordedAsVote,
    #[cfg(feature = "flaws")]
    VaultFlaw::PreVoteGivesUpOnRefusal,
    #[cfg(feature = "flaws")]
    VaultFlaw::StaleAnswerCounted,
    #[cfg(feature = "flaws")]
    VaultFlaw::StaleSnapshotAnswerClaimsLog,
    #[cfg(feature = "flaws")]
    VaultFlaw::SnapshotSentWithCurrentTerm,
    #[cfg(feature = "flaws")]
    VaultFlaw::WordOmitsQueuedWrites,
    #[cfg(feature = "flaws")]
    VaultFlaw::WordBeforeDurable,
    #[cfg(feature = "flaws")]
    VaultFlaw::ResendsHoldExhaustion,
    #[cfg(feature = "flaws")]
    VaultFlaw::DestroyKeepsStaged,
    #[cfg(feature = "flaws")]
    VaultFlaw::SpentDropsOpenLogins,
    #[cfg(feature = "flaws")]
    VaultFlaw::RestoredHardStateUnwritten,
    #[cfg(feature = "flaws")]
    VaultFlaw::DuplicateFinishExpiresLogin,
    #[cfg(feature = "flaws")]
    VaultFlaw::GoneDespiteLiveKey,
    #[cfg(feature = "flaws")]
    VaultFlaw::KeyLivesOnRefused,
    #[cfg(feature = "flaws")]
    VaultFlaw::GoneOnlyForTheLastGone,
    #[cfg(feature = "flaws")]
    VaultFlaw::ExhaustionWaits,
    #[cfg(feature = "flaws")]
    VaultFlaw::ExhaustDuringLogin,
    #[cfg(feature = "flaws")]
    VaultFlaw::LimitOffByOne,
    #[cfg(feature = "flaws")]
    VaultFlaw::VoteByLogLength,
    #[cfg(feature = "flaws")]
    VaultFlaw::CompactionDropsTail,
    #[cfg(feature = "flaws")]
    VaultFlaw::DeleteIgnoresId,
    #[cfg(feature = "flaws")]
    VaultFlaw::DeleteTakesStaged,
    #[cfg(feature = "flaws")]
    VaultFlaw::ActivateWithoutProof,
    #[cfg(feature = "flaws")]
    VaultFlaw::LoginAcrossChange,
    #[cfg(feature = "flaws")]
    VaultFlaw::DeleteSparesStaged,
    #[cfg(feature = "flaws")]
    VaultFlaw::DeleteSparesActive,
    #[cfg(feature = "flaws")]
    VaultFlaw::RoleChangeUnreported,
    #[cfg(feature = "flaws")]
    VaultFlaw::ResentActivationById,
    #[cfg(feature = "flaws")]
    VaultFlaw::ReadBarrierAtCommit,
    #[cfg(feature = "flaws")]
    VaultFlaw::CheckQuorumSkipped,
    #[cfg(feature = "flaws")]
    VaultFlaw::UnboundedQueue,
    #[cfg(feature = "flaws")]
    VaultFlaw::MisdirectedPeers,
    #[cfg(feature = "flaws")]
    VaultFlaw::CommitEarlierTermByCount,
    #[cfg(feature = "flaws")]
    VaultFlaw::SnapshotPrunesSpentIndex,
    #[cfg(feature = "flaws")]
    VaultFlaw::DurableIndexOnlyGrows,
    #[cfg(feature = "flaws")]
    VaultFlaw::StaleVotesCounted,
    #[cfg(feature = "flaws")]
    VaultFlaw::ResentLoginRenewsExpiry,
    #[cfg(feature = "flaws")]
    VaultFlaw::TermWrittenOnlyWithVote,
    #[cfg(feature = "flaws")]
    VaultFlaw::UnverifiedFinishResets,
];

/// Every client flaw, for command lines and sweeps.
pub const CLIENT_FLAWS: &[ClientFlaw] = &[
    #[cfg(feature = "flaws")]
    ClientFlaw::SkipLastChunkFlag,
    #[cfg(feature = "flaws")]
    ClientFlaw::KeyInManifest,
    #[cfg(feature = "flaws")]
    ClientFlaw::AcceptOlderGeneration,
    #[cfg(feature = "flaws")]
    ClientFlaw::UnauthenticatedDelete,
    #[cfg(feature = "flaws")]
    ClientFlaw::UnverifiedKeyLivesOn,
    #[cfg(feature = "flaws")]
    ClientFlaw::GoneForAnyProof,
    #[cfg(feature = "flaws")]
    ClientFlaw::StagedLeftUnnamed,
    #[cfg(feature = "flaws")]
    ClientFlaw::NamedNotSaved,
    #[cfg(feature = "flaws")]
    ClientFlaw::StagedTagTakenForActivation,
    #[cfg(feature = "flaws")]
    ClientFlaw::NeverArmsTimeout,
    #[cfg(feature = "flaws")]
    ClientFlaw::IgnoresCloudAnswers,
    #[cfg(feature = "flaws")]
    ClientFlaw::FlatBackoff,
    #[cfg(feature = "flaws")]
    ClientFlaw::KeyRestoreDropsPasswordMode,
    #[cfg(feature = "flaws")]
    ClientFlaw::BackupRewritesGeneration,
    #[cfg(feature = "flaws")]
    ClientFlaw::ManifestLags,
    #[cfg(feature = "flaws")]
    ClientFlaw::AcknowledgedPastManifestConflict,
    #[cfg(feature = "flaws")]
    ClientFlaw::BackupIdReused,
    #[cfg(feature = "flaws")]
    ClientFlaw::DamageIsNoBackup,
    #[cfg(feature = "flaws")]
    ClientFlaw::GivesUpAtFirstConflict,
    #[cfg(feature = "flaws")]
    ClientFlaw::EnableGivesUpOnStaleRegistration,
    #[cfg(feature = "flaws")]
    ClientFlaw::RestartsPastBudget,
    #[cfg(feature = "flaws")]
    ClientFlaw::ChangeRegistersAfresh,
    #[cfg(feature = "flaws")]
    ClientFlaw::NothingFoundIsWrongKey,
    #[cfg(feature = "flaws")]
    ClientFlaw::OtherKeyIsNoBackup,
    #[cfg(feature = "flaws")]
    ClientFlaw::IgnoresOwnDeletion,
    #[cfg(feature = "flaws")]
    ClientFlaw::ReadbackMissingTakenAsLag,
    #[cfg(feature = "flaws")]
    ClientFlaw::ChangeKeepsOldRegistration,
    #[cfg(feature = "flaws")]
    ClientFlaw::RestoreTriesManifestFirst,
    #[cfg(feature = "flaws")]
    ClientFlaw::ManifestOnlyIfListingEmpty,
    #[cfg(feature = "flaws")]
    ClientFlaw::LoginKeepsRegistration,
    #[cfg(feature = "flaws")]
    ClientFlaw::RestoreReplacesOwnKey,
    #[cfg(feature = "flaws")]
    ClientFlaw::RefusedChangeForgetsRegistration,
    #[cfg(feature = "flaws")]
    ClientFlaw::HintlessNotLeaderResends,
    #[cfg(feature = "flaws")]
    ClientFlaw::BackupReusesDeletedGeneration,
    #[cfg(feature = "flaws")]
    ClientFlaw::BackupStartsAtAcknowledged,
    #[cfg(feature = "flaws")]
    ClientFlaw::BackupIgnoresNewerManifest,
    #[cfg(feature = "flaws")]
    ClientFlaw::BackupWalksTakenNames,
    #[cfg(feature = "flaws")]
    ClientFlaw::BackupPutsOverUnopenedManifest,
    #[cfg(feature = "flaws")]
    ClientFlaw::DisableForgetsDeletedNames,
];

/// Whether `flaw` (an `Option<VaultFlaw>` or `Option<ClientFlaw>`) is the
/// variant named. Always false without the `flaws` feature, where the
/// variant does not even exist.
macro_rules! flaw_on {
    ($flaw:expr, $kind:ident :: $variant:ident) => {{
        #[cfg(feature = "flaws")]
        let on = $flaw == Some($crate::flaws::$kind::$variant);
        #[cfg(not(feature = "flaws"))]
        let on = {
            let _ = &$flaw;
            false
        };
        on
    }};
}
pub(crate) use flaw_on;

impl VaultFlaw {
    /// The flaw's name on command lines (kebab case).
    pub fn name(self) -> &'static str {
        match self {
            #[cfg(feature = "flaws")]
            VaultFlaw::Ke2BeforeCommit => "ke2-before-commit",
            #[cfg(feature = "flaws")]
            VaultFlaw::ResetOnReregistration => "reset-on-reregistration",
            #[cfg(feature = "flaws")]
            VaultFlaw::KeepKeyOnDestroy => "keep-key-on-destroy",
            #[cfg(feature = "flaws")]
            VaultFlaw::StageIsGuessable => "stage-is-guessable",
            #[cfg(feature = "flaws")]
            VaultFlaw::LoginsKeyedByIdOnly => "logins-keyed-by-id-only",
            #[cfg(feature = "flaws")]
            VaultFlaw::LoginExpiresAtOnce => "login-expires-at-once",
            #[cfg(feature = "flaws")]
            VaultFlaw::CommitOnMinority => "commit-on-minority",
            #[cfg(feature = "flaws")]
            VaultFlaw::VoteWithoutPersisting => "vote-without-persisting",
            #[cfg(feature = "flaws")]
            VaultFlaw::VoteBeforeSync => "vote-before-sync",
            #[cfg(feature = "flaws")]
            VaultFlaw::DoubleVote => "double-vote",
            #[cfg(feature = "flaws")]
            VaultFlaw::IgnoreRollbackTolerance => "ignore-rollback-tolerance",
            #[cfg(feature = "flaws")]
            VaultFlaw::SkipPrevTermCheck => "skip-prev-term-check",
            #[cfg(feature = "flaws")]
            VaultFlaw::RegistrationOracle => "registration-oracle",
            #[cfg(feature = "flaws")]
            VaultFlaw::ContentFreeProofs => "content-free-proofs",
            #[cfg(feature = "flaws")]
            VaultFlaw::RetriedLoginCostsAttempt => "retried-login-costs-attempt",
            #[cfg(feature = "flaws")]
            VaultFlaw::StaleAnswers => "stale-answers",
            #[cfg(feature = "flaws")]
            VaultFlaw::UncheckedRegistrationTranscript => "unchecked-registration-transcript",
            #[cfg(feature = "flaws")]
            VaultFlaw::ForgeableTickets => "forgeable-tickets",
            #[cfg(feature = "flaws")]
            VaultFlaw::ProofStageReusesTicket => "proof-stage-reuses-ticket",
            #[cfg(feature = "flaws")]
            VaultFlaw::TicketKeyPerStage => "ticket-key-per-stage",
            #[cfg(feature = "flaws")]
            VaultFlaw::VoteRequestBeforeDurable => "vote-request-before-durable",
            #[cfg(feature = "flaws")]
            VaultFlaw::UnsealedStorage => "unsealed-storage",
            #[cfg(feature = "flaws")]
            VaultFlaw::UnauthenticatedPeers => "unauthenticated-peers",
            #[cfg(feature = "flaws")]
            VaultFlaw::ErasureSkipped => "erasure-skipped",
            #[cfg(feature = "flaws")]
            VaultFlaw::HsmCounterIgnored => "hsm-counter-ignored",
            #[cfg(feature = "flaws")]
            VaultFlaw::LostTailWithoutRollbackMargin => "lost-tail-without-rollback-margin",
            #[cfg(feature = "flaws")]
            VaultFlaw::PreVoteIgnoresLeader => "pre-vote-ignores-leader",
            #[cfg(feature = "flaws")]
            VaultFlaw::SnapshotReplyIgnored => "snapshot-reply-ignored",
            #[cfg(feature = "flaws")]
            VaultFlaw::AbdicateOnSnapshotAnswer => "abdicate-on-snapshot-answer",
            #[cfg(feature = "flaws")]
            VaultFlaw::DeferBehindCandidate => "defer-behind-candidate",
            #[cfg(feature = "flaws")]
            VaultFlaw::LostTailRefused => "lost-tail-refused",
            #[cfg(feature = "flaws")]
            VaultFlaw::DeferredVoteNeverGiven => "deferred-vote-never-given",
            #[cfg(feature = "flaws")]
            VaultFlaw::DeferralDroppedOnWord => "deferral-dropped-on-word",
            #[cfg(feature = "flaws")]
            VaultFlaw::CandidacyOutlivesLeader => "candidacy-outlives-leader",
            #[cfg(feature = "flaws")]
            VaultFlaw::PreVoteOwnWordIgnored => "pre-vote-own-word-ignored",
            #[cfg(feature = "flaws")]
            VaultFlaw::AttestUnanswered => "attest-unanswered",
            #[cfg(feature = "flaws")]
            VaultFlaw::LostTailCandidacyWithheld => "lost-tail-candidacy-withheld",
            #[cfg(feature = "flaws")]
            VaultFlaw::SameTermVoteForgotten => "same-term-vote-forgotten",
            #[cfg(feature = "flaws")]
            VaultFlaw::LostTailLeadsWithoutWord => "lost-tail-leads-without-word",
            #[cfg(feature = "flaws")]
            VaultFlaw::LeadsOnFirstWord => "leads-on-first-word",
            #[cfg(feature = "flaws")]
            VaultFlaw::ResentActivationUnbarriered => "resent-activation-unbarriered",
            #[cfg(feature = "flaws")]
            VaultFlaw::DeleteProofUnchecked => "delete-proof-unchecked",
            #[cfg(feature = "flaws")]
            VaultFlaw::DeleteTakesActivationProof => "delete-takes-activation-proof",
            #[cfg(feature = "flaws")]
            VaultFlaw::PreVoteStaleGrantsCounted => "pre-vote-stale-grants-counted",
            #[cfg(feature = "flaws")]
            VaultFlaw::RefusalRecordedAsVote => "refusal-recorded-as-vote",
            #[cfg(feature = "flaws")]
            VaultFlaw::PreVoteGivesUpOnRefusal => "pre-vote-gives-up-on-refusal",
            #[cfg(feature = "flaws")]
            VaultFlaw::StaleAnswerCounted => "stale-answer-counted",
            #[cfg(feature = "flaws")]
            VaultFlaw::StaleSnapshotAnswerClaimsLog => "stale-snapshot-answer-claims-log",
            #[cfg(feature = "flaws")]
            VaultFlaw::SnapshotSentWithCurrentTerm => "snapshot-sent-with-current-term",
            #[cfg(feature = "flaws")]
            VaultFlaw::WordOmitsQueuedWrites => "word-omits-queued-writes",
            #[cfg(feature = "flaws")]
            VaultFlaw::WordBeforeDurable => "word-before-durable",
            #[cfg(feature = "flaws")]
            VaultFlaw::ResendsHoldExhaustion => "resends-hold-exhaustion",
            #[cfg(feature = "flaws")]
            VaultFlaw::DestroyKeepsStaged => "destroy-keeps-staged",
            #[cfg(feature = "flaws")]
            VaultFlaw::SpentDropsOpenLogins => "spent-drops-open-logins",
            #[cfg(feature = "flaws")]
            VaultFlaw::RestoredHardStateUnwritten => "restored-hard-state-unwritten",
            #[cfg(feature = "flaws")]
            VaultFlaw::DuplicateFinishExpiresLogin => "duplicate-finish-expires-login",
            #[cfg(feature = "flaws")]
            VaultFlaw::GoneDespiteLiveKey => "gone-despite-live-key",
            #[cfg(feature = "flaws")]
            VaultFlaw::KeyLivesOnRefused => "key-lives-on-refused",
            #[cfg(feature = "flaws")]
            VaultFlaw::GoneOnlyForTheLastGone => "gone-only-for-the-last-gone",
            #[cfg(feature = "flaws")]
            VaultFlaw::ExhaustionWaits => "exhaustion-waits",
            #[cfg(feature = "flaws")]
            VaultFlaw::ExhaustDuringLogin => "exhaust-during-login",
            #[cfg(feature = "flaws")]
            VaultFlaw::LimitOffByOne => "limit-off-by-one",
            #[cfg(feature = "flaws")]
            VaultFlaw::VoteByLogLength => "vote-by-log-length",
            #[cfg(feature = "flaws")]
            VaultFlaw::CompactionDropsTail => "compaction-drops-tail",
            #[cfg(feature = "flaws")]
            VaultFlaw::DeleteIgnoresId => "delete-ignores-id",
            #[cfg(feature = "flaws")]
            VaultFlaw::DeleteTakesStaged => "delete-takes-staged",
            #[cfg(feature = "flaws")]
            VaultFlaw::ActivateWithoutProof => "activate-without-proof",
            #[cfg(feature = "flaws")]
            VaultFlaw::LoginAcrossChange => "login-across-change",
            #[cfg(feature = "flaws")]
            VaultFlaw::DeleteSparesStaged => "delete-spares-staged",
            #[cfg(feature = "flaws")]
            VaultFlaw::DeleteSparesActive => "delete-spares-active",
            #[cfg(feature = "flaws")]
            VaultFlaw::RoleChangeUnreported => "role-change-unreported",
            #[cfg(feature = "flaws")]
            VaultFlaw::ResentActivationById => "resent-activation-by-id",
            #[cfg(feature = "flaws")]
            VaultFlaw::ReadBarrierAtCommit => "read-barrier-at-commit",
            #[cfg(feature = "flaws")]
            VaultFlaw::CheckQuorumSkipped => "check-quorum-skipped",
            #[cfg(feature = "flaws")]
            VaultFlaw::UnboundedQueue => "unbounded-queue",
            #[cfg(feature = "flaws")]
            VaultFlaw::MisdirectedPeers => "misdirected-peers",
            #[cfg(feature = "flaws")]
            VaultFlaw::CommitEarlierTermByCount => "commit-earlier-term-by-count",
            #[cfg(feature = "flaws")]
            VaultFlaw::SnapshotPrunesSpentIndex => "snapshot-prunes-spent-index",
            #[cfg(feature = "flaws")]
            VaultFlaw::DurableIndexOnlyGrows => "durable-index-only-grows",
            #[cfg(feature = "flaws")]
            VaultFlaw::StaleVotesCounted => "stale-votes-counted",
            #[cfg(feature = "flaws")]
            VaultFlaw::ResentLoginRenewsExpiry => "resent-login-renews-expiry",
            #[cfg(feature = "flaws")]
            VaultFlaw::TermWrittenOnlyWithVote => "term-written-only-with-vote",
            #[cfg(feature = "flaws")]
            VaultFlaw::UnverifiedFinishResets => "unverified-finish-resets",
        }
    }
}

impl ClientFlaw {
    /// The flaw's name on command lines (kebab case).
    pub fn name(self) -> &'static str {
        match self {
            #[cfg(feature = "flaws")]
            ClientFlaw::SkipLastChunkFlag => "skip-last-chunk-flag",
            #[cfg(feature = "flaws")]
            ClientFlaw::KeyInManifest => "key-in-manifest",
            #[cfg(feature = "flaws")]
            ClientFlaw::AcceptOlderGeneration => "accept-older-generation",
            #[cfg(feature = "flaws")]
            ClientFlaw::UnauthenticatedDelete => "unauthenticated-delete",
            #[cfg(feature = "flaws")]
            ClientFlaw::UnverifiedKeyLivesOn => "unverified-key-lives-on",
            #[cfg(feature = "flaws")]
            ClientFlaw::GoneForAnyProof => "gone-for-any-proof",
            #[cfg(feature = "flaws")]
            ClientFlaw::StagedLeftUnnamed => "staged-left-unnamed",
            #[cfg(feature = "flaws")]
            ClientFlaw::NamedNotSaved => "named-not-saved",
            #[cfg(feature = "flaws")]
            ClientFlaw::StagedTagTakenForActivation => "staged-tag-taken-for-activation",
            #[cfg(feature = "flaws")]
            ClientFlaw::NeverArmsTimeout => "never-arms-timeout",
            #[cfg(feature = "flaws")]
            ClientFlaw::IgnoresCloudAnswers => "ignores-cloud-answers",
            #[cfg(feature = "flaws")]
            ClientFlaw::FlatBackoff => "flat-backoff",
            #[cfg(feature = "flaws")]
            ClientFlaw::KeyRestoreDropsPasswordMode => "key-restore-drops-password-mode",
            #[cfg(feature = "flaws")]
            ClientFlaw::BackupRewritesGeneration => "backup-rewrites-generation",
            #[cfg(feature = "flaws")]
            ClientFlaw::ManifestLags => "manifest-lags",
            #[cfg(feature = "flaws")]
            ClientFlaw::AcknowledgedPastManifestConflict => "acknowledged-past-manifest-conflict",
            #[cfg(feature = "flaws")]
            ClientFlaw::BackupIdReused => "backup-id-reused",
            #[cfg(feature = "flaws")]
            ClientFlaw::DamageIsNoBackup => "damage-is-no-backup",
            #[cfg(feature = "flaws")]
            ClientFlaw::GivesUpAtFirstConflict => "gives-up-at-first-conflict",
            #[cfg(feature = "flaws")]
            ClientFlaw::EnableGivesUpOnStaleRegistration => "enable-gives-up-on-stale-registration",
            #[cfg(feature = "flaws")]
            ClientFlaw::RestartsPastBudget => "restarts-past-budget",
            #[cfg(feature = "flaws")]
            ClientFlaw::ChangeRegistersAfresh => "change-registers-afresh",
            #[cfg(feature = "flaws")]
            ClientFlaw::NothingFoundIsWrongKey => "nothing-found-is-wrong-key",
            #[cfg(feature = "flaws")]
            ClientFlaw::OtherKeyIsNoBackup => "other-key-is-no-backup",
            #[cfg(feature = "flaws")]
            ClientFlaw::IgnoresOwnDeletion => "ignores-own-deletion",
            #[cfg(feature = "flaws")]
            ClientFlaw::ReadbackMissingTakenAsLag => "readback-missing-taken-as-lag",
            #[cfg(feature = "flaws")]
            ClientFlaw::ChangeKeepsOldRegistration => "change-keeps-old-registration",
            #[cfg(feature = "flaws")]
            ClientFlaw::RestoreTriesManifestFirst => "restore-tries-manifest-first",
            #[cfg(feature = "flaws")]
            ClientFlaw::ManifestOnlyIfListingEmpty => "manifest-only-if-listing-empty",
            #[cfg(feature = "flaws")]
            ClientFlaw::LoginKeepsRegistration => "login-keeps-registration",
            #[cfg(feature = "flaws")]
            ClientFlaw::RestoreReplacesOwnKey => "restore-replaces-own-key",
            #[cfg(feature = "flaws")]
            ClientFlaw::RefusedChangeForgetsRegistration => "refused-change-forgets-registration",
            #[cfg(feature = "flaws")]
            ClientFlaw::HintlessNotLeaderResends => "hintless-not-leader-resends",
            #[cfg(feature = "flaws")]
            ClientFlaw::BackupReusesDeletedGeneration => "backup-reuses-deleted-generation",
            #[cfg(feature = "flaws")]
            ClientFlaw::BackupStartsAtAcknowledged => "backup-starts-at-acknowledged",
            #[cfg(feature = "flaws")]
            ClientFlaw::BackupIgnoresNewerManifest => "backup-ignores-newer-manifest",
            #[cfg(feature = "flaws")]
            ClientFlaw::BackupWalksTakenNames => "backup-walks-taken-names",
            #[cfg(feature = "flaws")]
            ClientFlaw::BackupPutsOverUnopenedManifest => "backup-puts-over-unopened-manifest",
            #[cfg(feature = "flaws")]
            ClientFlaw::DisableForgetsDeletedNames => "disable-forgets-deleted-names",
        }
    }
}

#[cfg(all(test, feature = "flaws"))]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    /// Command lines, the catalogue and replay commands name flaws by
    /// these names: each must be its own, in kebab case.
    #[test]
    fn every_flaw_has_its_own_kebab_case_name() {
        let names: Vec<&str> = VAULT_FLAWS
            .iter()
            .map(|f| f.name())
            .chain(CLIENT_FLAWS.iter().map(|f| f.name()))
            .collect();
        let distinct: BTreeSet<&str> = names.iter().copied().collect();
        assert_eq!(distinct.len(), names.len(), "two flaws share a name");
        for name in names {
            assert!(
                !name.is_empty()
                    && name
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
                "{name:?} is not a kebab-case name"
            );
        }
        assert_eq!(VaultFlaw::UnboundedQueue.name(), "unbounded-queue");
    }
}
