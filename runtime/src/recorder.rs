//! Real clients' vault requests as a history in the simulator's format
//! (`backup-vault-history`, `docs/history.md`), and its judgement by the
//! same checks: the bound on password tests per registration (LOCK-1) and
//! the linearizability search (CONS-4).
//!
//! A [`Recorder`] sees every request a [`crate::client::Connection`] sends
//! and what became of it ([`Observed`]). The wire's answers do not name the
//! registration a KE2 or a `LoginOk` is about, nor can a client tell which
//! of its unanswered requests committed; both come from the nodes'
//! `applied.jsonl` files (`record_applied` in `cluster.toml`), read by
//! [`Committed::read`] once the run is over.
//!
//! Used by the real-process fault suite (`impl/cli/tests/runtime_faults.rs`)
//! and the turmoil tests (`runtime/tests/turmoil_cluster.rs`).

use crate::client::Observed;
use crate::config::ClusterFile;
use backup_vault::vault::crypto::{ContentDigest, Ke1Digest, RegistrationId};
use backup_vault::vault::opaque_crypto::OpaqueCrypto;
use backup_vault::vault::protocol::{ClientRequest, ClientResponse};
use backup_vault_history::{guesses, linearizable, Answer, Call, EventType, History};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

/// Milliseconds on the clock a history's times are read from.
pub type Clock = Box<dyn Fn() -> u64 + Send>;

/// The history of every client's vault requests, as real clients saw them.
pub struct Recorder {
    history: History,
    crypto: OpaqueCrypto,
    clock: Clock,
    /// (actor, send id) to the history's process.
    open: BTreeMap<(u32, u64), u64>,
    ke2s: u64,
}

impl Recorder {
    /// An empty history; `crypto` digests requests as the nodes do. Times
    /// are milliseconds since now.
    pub fn new(crypto: OpaqueCrypto) -> Self {
        let start = Instant::now();
        Recorder::with_clock(crypto, Box::new(move || start.elapsed().as_millis() as u64))
    }

    /// As [`Recorder::new`], with times read from `clock` (a simulation's
    /// clock, so that a seed replays the history's times too).
    pub fn with_clock(crypto: OpaqueCrypto, clock: Clock) -> Self {
        Recorder {
            history: History::default(),
            crypto,
            clock,
            open: BTreeMap::new(),
            ke2s: 0,
        }
    }

    /// Milliseconds on the recorder's clock.
    pub fn now(&self) -> u64 {
        (self.clock)()
    }

    /// KE2s the clients received so far (a nemesis aims at them).
    pub fn ke2s(&self) -> u64 {
        self.ke2s
    }

    /// The history so far.
    pub fn history(&self) -> &History {
        &self.history
    }

    /// Places fault `what` (on `node`, if one) among the events.
    pub fn fault(&mut self, what: &'static str, node: Option<u8>) {
        let now = self.now();
        self.history
            .fault(what, node, None, u64::from(node.unwrap_or(0)), now);
    }

    fn call(&self, request: &ClientRequest<OpaqueCrypto>) -> Call {
        // Every KE3 here is a real client's, for its own login.
        Call::of(&self.crypto, request, |_| true)
    }

    /// Records what client `actor`'s connection reports.
    pub fn observe(&mut self, actor: u32, event: Observed<'_>) {
        let now = self.now();
        match event {
            Observed::Sent { id, request } => {
                let call = self.call(request);
                let process = self.history.invoke(request.user().0, actor, call, now);
                self.history.delivered(process, 1);
                self.open.insert((actor, id), process);
            }
            Observed::NotDelivered { id } => {
                if let Some(process) = self.open.remove(&(actor, id)) {
                    self.history.delivered(process, 0);
                }
            }
            Observed::Answered { id, response } => {
                if matches!(response, ClientResponse::Ke2 { .. }) {
                    self.ke2s += 1;
                }
                if let Some(&process) = self.open.get(&(actor, id)) {
                    // The registration a KE2 or LoginOk is about is filled in
                    // from the committed log at the end.
                    let answer = Answer::of(response, None);
                    if answer.completion(true).is_some() {
                        self.open.remove(&(actor, id));
                    }
                    self.history.complete(process, answer, true, now);
                }
            }
        }
    }

    /// Fills in what only the committed log knows (the registration of
    /// each KE2 and `LoginOk`; whether an unanswered request committed) and
    /// closes the history.
    pub fn finish(mut self, committed: &Committed) -> History {
        let now = self.now();
        fill_and_close(&mut self.history, committed, now);
        self.history
    }
}

/// What the nodes committed, from their `applied.jsonl` files.
#[derive(Default)]
pub struct Committed {
    staged: BTreeSet<ContentDigest>,
    activated: BTreeSet<RegistrationId>,
    consumed: BTreeMap<Ke1Digest, RegistrationId>,
    reset: BTreeSet<u64>,
    reset_ke1: BTreeMap<Ke1Digest, RegistrationId>,
    deleted: BTreeSet<RegistrationId>,
}

impl Committed {
    /// Every node's `applied.jsonl` of `file`, merged. A torn last line (a
    /// SIGKILL mid-write) is skipped; a node without the file adds nothing.
    pub fn read(file: &ClusterFile) -> Committed {
        let mut c = Committed::default();
        for entry in &file.nodes {
            let path = file.node_dir(entry).join("applied.jsonl");
            let Ok(text) = std::fs::read_to_string(&path) else {
                continue;
            };
            for line in text.lines() {
                let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
                    continue;
                };
                c.add(&v);
            }
        }
        c
    }

    fn add(&mut self, v: &serde_json::Value) {
        let reg = RegistrationId(v["registration"].as_u64().unwrap_or(u64::MAX));
        let ke1 = || serde_json::from_value::<Ke1Digest>(v["ke1"].clone()).ok();
        let content = || serde_json::from_value::<ContentDigest>(v["content"].clone()).ok();
        match v["kind"].as_str() {
            Some("stage") => self.staged.extend(content()),
            Some("activate") => {
                self.activated.insert(reg);
            }
            Some("consume-attempt") => {
                if let Some(k) = ke1() {
                    self.consumed.insert(k, reg);
                }
            }
            Some("reset") => {
                self.reset.insert(v["user"].as_u64().unwrap_or(u64::MAX));
                if let Some(k) = ke1() {
                    self.reset_ke1.insert(k, reg);
                }
            }
            Some("delete") => {
                self.deleted.insert(reg);
            }
            _ => {}
        }
    }
}

fn fill_and_close(history: &mut History, committed: &Committed, now: u64) {
    let mut ke1_of: BTreeMap<u64, Ke1Digest> = BTreeMap::new();
    for e in &history.events {
        if let (EventType::Invoke, Call::LoginStart { ke1 }) = (e.kind, &e.call) {
            ke1_of.insert(e.process, *ke1);
        }
    }
    let mut login_ke1 = BTreeMap::new();
    for e in &mut history.events {
        if let Some(Answer::Ke2 {
            registration,
            login,
            ..
        }) = e.answer.as_mut()
        {
            if let Some(ke1) = ke1_of.get(&e.process) {
                *registration = committed.consumed.get(ke1).copied();
                login_ke1.insert((e.user, *login), *ke1);
            }
        }
    }
    for e in &mut history.events {
        if let (Call::LoginFinish { login, .. }, Some(Answer::LoginOk { registration })) =
            (&e.call, e.answer.as_mut())
        {
            if let Some(ke1) = login_ke1.get(&(e.user, *login)) {
                *registration = committed.reset_ke1.get(ke1).copied();
            }
        }
    }
    history.close(now, |user, call| match call {
        Call::RegistrationStart => false,
        Call::Stage { content, .. } => committed.staged.contains(content),
        Call::Activate { registration, .. } => committed.activated.contains(registration),
        Call::LoginStart { ke1 } => committed.consumed.contains_key(ke1),
        Call::LoginFinish { valid, .. } => *valid && committed.reset.contains(&user),
        Call::Delete { registration } => committed.deleted.contains(registration),
    });
}

/// The history checks' findings on `history` for a cluster allowing
/// `limit` guesses; empty when every check holds.
///
/// When `destroyed` (a client was told its key was destroyed, so the
/// history holds a spent budget), the checks must also have had something
/// to judge: the same history, as a vault that never counted a guess would
/// have answered it (every KE2 reporting the whole budget left), must fail
/// the bound. If it passes, the recording or the registrations filled in
/// from the committed log gave the bound nothing to count, and that is a
/// finding too.
pub fn judge(history: &History, limit: u8, destroyed: bool) -> Vec<String> {
    let mut problems = Vec::new();
    match guesses::check(history, limit) {
        guesses::Verdict::Within => {}
        v => problems.push(format!("LOCK-1 bound: {v:?}")),
    }
    match linearizable::check(history, limit) {
        linearizable::Verdict::Linearizable => {}
        v => problems.push(format!("CONS-4: {v:?}")),
    }
    if destroyed {
        let mut refunding = history.clone();
        for e in &mut refunding.events {
            if let Some(Answer::Ke2 { remaining, .. }) = e.answer.as_mut() {
                *remaining = limit;
            }
        }
        if guesses::check(&refunding, limit) == guesses::Verdict::Within {
            problems.push(
                "the bound passed a history whose KE2s never count a guess: it judged nothing"
                    .to_string(),
            );
        }
    }
    problems
}

/// How many vault requests `history` holds.
pub fn requests(history: &History) -> usize {
    history
        .events
        .iter()
        .filter(|e| e.kind == EventType::Invoke)
        .count()
}
