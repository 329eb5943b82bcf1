//! The vault history of a run: every request any party sent to the vault
//! (devices, adversaries, resends, replays) as one operation, for
//! linearizability checkers (format and sequential model:
//! `docs/history.md`; the in-tree checker: [`linearizable`]).
//!
//! An operation is one request, from the moment it leaves its sender to
//! the first vault answer that reaches it and settles it. Completions
//! follow Jepsen:
//! - `ok`: the vault answered with a result (a state change it reports, or
//!   what it read);
//! - `fail`: the vault answered that nothing happened (a refusal, `Retry`,
//!   an unknown login), and it received the request once: certainly no
//!   effect;
//! - `info`: unknown, when the run ends: no settling answer reached the
//!   sender (none at all; only `NotLeader`, which a leader that loses
//!   office also gives to requests it had proposed; or only a "nothing
//!   happened" to one of two copies of a request).
//!
//! Each request is its own process: a client that resends after a timeout
//! leaves the first send open, and a process never has two operations open.
//!
//! This crate is shared by the simulator (`bvault-suite`), which records the
//! history of every simulated run, and by the runtime's real-process tests,
//! which record what real clients saw: one set of history checks judges
//! both.

#![forbid(unsafe_code)]

pub mod guesses;
pub mod linearizable;

use backup_vault::vault::crypto::VaultCrypto;
use backup_vault::vault::crypto::{ContentDigest, Ke1Digest, RegistrationId};
use backup_vault::vault::protocol::{
    ClientRequest, ClientResponse, LoginId, Refusal, ResponseKind,
};
use std::io::{self, Write};

/// Invocation or completion.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventType {
    /// The request left its sender.
    Invoke,
    /// The vault answered with a result.
    Ok,
    /// The vault answered that nothing happened.
    Fail,
    /// Unknown whether it took effect.
    Info,
}

impl EventType {
    fn name(self) -> &'static str {
        match self {
            EventType::Invoke => "invoke",
            EventType::Ok => "ok",
            EventType::Fail => "fail",
            EventType::Info => "info",
        }
    }
}

/// A request, as far as its effect on the record goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Call {
    /// A registration request (it touches no record).
    RegistrationStart,
    /// A stage.
    Stage {
        /// The content digest the request names.
        content: ContentDigest,
        /// Whether that is the digest of what it carries, and what it
        /// carries was made from the vault's own evaluation (else no
        /// correct vault stages it).
        genuine: bool,
        /// The active registration named with a proof of K, if any.
        replacing: Option<RegistrationId>,
        /// The stage count its ticket was issued at (`None`: no ticket
        /// opened).
        seq: Option<u64>,
    },
    /// An activation.
    Activate {
        /// The registration.
        registration: RegistrationId,
        /// The content named.
        content: ContentDigest,
    },
    /// A login start.
    LoginStart {
        /// Which KE1.
        ke1: Ke1Digest,
    },
    /// A login finish.
    LoginFinish {
        /// The login.
        login: LoginId,
        /// Whether its KE3 is the one the login's own client made (a client
        /// makes KE3 only with the right password; any other KE3 fails).
        valid: bool,
    },
    /// A delete.
    Delete {
        /// The registration.
        registration: RegistrationId,
    },
}

impl Call {
    /// The operation's name (`f`).
    pub fn name(&self) -> &'static str {
        match self {
            Call::RegistrationStart => "registration-start",
            Call::Stage { .. } => "stage",
            Call::Activate { .. } => "activate",
            Call::LoginStart { .. } => "login-start",
            Call::LoginFinish { .. } => "login-finish",
            Call::Delete { .. } => "delete",
        }
    }
}

/// A vault answer, with what the simulator knows it refers to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Answer {
    /// A registration response.
    RegistrationResponse,
    /// Staged.
    Staged {
        /// The registration.
        registration: RegistrationId,
        /// Whether an active record was destroyed.
        displaced: bool,
    },
    /// Activated.
    Activated {
        /// The registration.
        registration: RegistrationId,
        /// Guesses available.
        remaining: u8,
    },
    /// KE2.
    Ke2 {
        /// The login.
        login: LoginId,
        /// The registration whose attempt it reports (from its log index).
        registration: Option<RegistrationId>,
        /// Guesses left.
        remaining: u8,
    },
    /// The key was released (registration and budget are inside the seal;
    /// the simulator reads them from the log index).
    LoginOk {
        /// The registration.
        registration: Option<RegistrationId>,
    },
    /// The password was wrong.
    WrongPassword {
        /// Guesses left.
        remaining: u8,
    },
    /// The record was destroyed.
    KeyDestroyed,
    /// No active record.
    NotRegistered,
    /// The login is unknown.
    LoginExpired,
    /// The registration is gone.
    Deleted {
        /// The registration.
        registration: RegistrationId,
    },
    /// The registration is not live, and its key lives on in `live`.
    KeyLivesOn {
        /// The registration named.
        registration: RegistrationId,
        /// The live registration of the same key.
        live: RegistrationId,
    },
    /// Refused.
    Refused(Refusal),
    /// Not the leader.
    NotLeader,
    /// Nothing happened; retry.
    Retry,
}

impl Call {
    /// The history's view of `request`. The checks hold the fleet's
    /// secrets (`crypto`): they open a stage to know whether it is genuine
    /// and which ticket it carries, and digest a KE1. `ke3_valid` says
    /// whether a KE3 is one a client made for its own login (a replayed or
    /// forged one resets nothing). Shared by the simulator and the
    /// runtime's real-process tests, so both record requests alike.
    pub fn of<C: VaultCrypto>(
        crypto: &C,
        request: &ClientRequest<C>,
        ke3_valid: impl FnOnce(&ClientRequest<C>) -> bool,
    ) -> Call {
        match request {
            ClientRequest::RegistrationStart { .. } => Call::RegistrationStart,
            ClientRequest::Stage {
                user,
                sealed,
                content,
                replacing,
            } => {
                let opened = crypto.open_registration(*user, sealed).ok();
                Call::Stage {
                    content: *content,
                    genuine: opened.as_ref().is_some_and(|o| {
                        o.content == *content && o.ticket_authentic && o.evaluated_under_ticket
                    }),
                    replacing: replacing.as_ref().map(|r| r.registration),
                    seq: opened.map(|o| o.ticket.seq),
                }
            }
            ClientRequest::Activate {
                registration,
                content,
                ..
            } => Call::Activate {
                registration: *registration,
                content: *content,
            },
            ClientRequest::LoginStart { ke1, .. } => Call::LoginStart {
                ke1: crypto.ke1_digest(ke1),
            },
            ClientRequest::LoginFinish { login, .. } => Call::LoginFinish {
                login: *login,
                valid: ke3_valid(request),
            },
            ClientRequest::Delete { registration, .. } => Call::Delete {
                registration: *registration,
            },
        }
    }
}

impl Answer {
    /// The answer to a response, with `registration` (read from the log
    /// entry the response reports, if any) filled in where the response
    /// does not carry it in the clear.
    pub fn of<C: VaultCrypto>(
        response: &ClientResponse<C>,
        registration: Option<RegistrationId>,
    ) -> Answer {
        match response {
            ClientResponse::RegistrationResponse(_) => Answer::RegistrationResponse,
            ClientResponse::Staged {
                registration,
                displaced,
                ..
            } => Answer::Staged {
                registration: *registration,
                displaced: *displaced,
            },
            ClientResponse::Activated {
                registration,
                remaining,
                ..
            } => Answer::Activated {
                registration: *registration,
                remaining: *remaining,
            },
            ClientResponse::Ke2 {
                login, remaining, ..
            } => Answer::Ke2 {
                login: *login,
                registration,
                remaining: *remaining,
            },
            ClientResponse::LoginOk { .. } => Answer::LoginOk { registration },
            ClientResponse::WrongPassword { remaining } => Answer::WrongPassword {
                remaining: *remaining,
            },
            ClientResponse::KeyDestroyed => Answer::KeyDestroyed,
            ClientResponse::NotRegistered => Answer::NotRegistered,
            ClientResponse::LoginExpired => Answer::LoginExpired,
            ClientResponse::Deleted { registration, .. } => Answer::Deleted {
                registration: *registration,
            },
            ClientResponse::KeyLivesOn {
                registration, live, ..
            } => Answer::KeyLivesOn {
                registration: *registration,
                live: *live,
            },
            ClientResponse::Refused(r) => Answer::Refused(*r),
            ClientResponse::NotLeader { .. } => Answer::NotLeader,
            ClientResponse::Retry => Answer::Retry,
        }
    }

    /// How an answer completes its operation (Jepsen's `ok` or `fail`), or
    /// `None` if it does not: `NotLeader` says nothing of the request (a
    /// leader that loses office gives it to requests it had proposed), and
    /// an answer that nothing happened is certain only if the vault
    /// received exactly one copy of the request (`single`): with two, the
    /// other copy may have had the effect, and its answer may still come (a
    /// duplicated KE3 resets the budget once, and the second copy finds its
    /// login gone). An operation no answer completes ends as `info`.
    pub fn completion(&self, single: bool) -> Option<EventType> {
        match self {
            Answer::Refused(_) | Answer::Retry | Answer::LoginExpired => {
                single.then_some(EventType::Fail)
            }
            Answer::NotLeader => None,
            _ => Some(EventType::Ok),
        }
    }

    /// Its kind, in the protocol's one table of response names.
    fn kind(&self) -> ResponseKind {
        match self {
            Answer::RegistrationResponse => ResponseKind::RegistrationResponse,
            Answer::Staged { .. } => ResponseKind::Staged,
            Answer::Activated { .. } => ResponseKind::Activated,
            Answer::Ke2 { .. } => ResponseKind::Ke2,
            Answer::LoginOk { .. } => ResponseKind::LoginOk,
            Answer::WrongPassword { .. } => ResponseKind::WrongPassword,
            Answer::KeyDestroyed => ResponseKind::KeyDestroyed,
            Answer::NotRegistered => ResponseKind::NotRegistered,
            Answer::LoginExpired => ResponseKind::LoginExpired,
            Answer::Deleted { .. } => ResponseKind::Deleted,
            Answer::KeyLivesOn { .. } => ResponseKind::KeyLivesOn,
            Answer::Refused(r) => ResponseKind::Refused(*r),
            Answer::NotLeader => ResponseKind::NotLeader,
            Answer::Retry => ResponseKind::Retry,
        }
    }

    fn name(&self) -> &'static str {
        self.kind().name()
    }
}

/// One history event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HistoryEvent {
    /// The process: one per request.
    pub process: u64,
    /// Invoke or completion.
    pub kind: EventType,
    /// The user the request names.
    pub user: u64,
    /// The actor that sent it (a device or an adversary).
    pub actor: u32,
    /// The request.
    pub call: Call,
    /// The answer (completions with one).
    pub answer: Option<Answer>,
    /// How many copies of the request the network delivered to the vault
    /// (2: duplicated; each copy may take effect on its own).
    pub copies: u32,
    /// On `info` completions: whether the committed log holds a command
    /// this request could have made (a KE1 consumed or reset, this content
    /// staged, this registration activated or deleted). `false` means the
    /// request certainly had no effect, though no answer said so.
    pub possible: bool,
    /// Virtual time, ms.
    pub time_ms: u64,
}

/// A fault, as Jepsen's nemesis writes it into a history: `info` events of
/// process `nemesis`, between the operations they came among.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NemesisEvent {
    /// How many operation events came before it.
    pub before: usize,
    /// What the fault did (`crash`, `partition`, `heal-everything`...).
    pub f: &'static str,
    /// The node it hit, if one.
    pub node: Option<u8>,
    /// The user it hit (a device's crash), if one.
    pub user: Option<u64>,
    /// The trace record's argument (a partition's id, a node...).
    pub arg: u64,
    /// Virtual time, ms.
    pub time_ms: u64,
}

/// A run's history.
#[derive(Clone, Debug, Default)]
pub struct History {
    /// Events in the order they happened.
    pub events: Vec<HistoryEvent>,
    /// The faults, each placed among the events (the checkers read only
    /// `events`; the file interleaves both).
    pub nemesis: Vec<NemesisEvent>,
    /// Processes invoked and not completed yet.
    open: std::collections::BTreeMap<u64, usize>,
    next_process: u64,
}

fn short(bytes: &[u8]) -> String {
    hex::encode(&bytes[..8])
}

impl History {
    /// Records a request leaving `actor` for the vault; returns its process.
    pub fn invoke(&mut self, user: u64, actor: u32, call: Call, time_ms: u64) -> u64 {
        let process = self.next_process;
        self.next_process += 1;
        self.open.insert(process, self.events.len());
        self.events.push(HistoryEvent {
            process,
            kind: EventType::Invoke,
            user,
            actor,
            call,
            answer: None,
            copies: 1,
            possible: true,
            time_ms,
        });
        process
    }

    /// Records a fault at this point of the history.
    pub fn fault(
        &mut self,
        f: &'static str,
        node: Option<u8>,
        user: Option<u64>,
        arg: u64,
        time_ms: u64,
    ) {
        self.nemesis.push(NemesisEvent {
            before: self.events.len(),
            f,
            node,
            user,
            arg,
            time_ms,
        });
    }

    /// The network delivered `copies` copies of `process`'s request.
    pub fn delivered(&mut self, process: u64, copies: u32) {
        if let Some(at) = self.open.get(&process) {
            self.events[*at].copies = copies;
        }
    }

    /// Records an answer that reached `process`'s sender: the first one that
    /// completes it (see [`Answer::completion`]) is the completion; later
    /// ones, from duplicates, are not events.
    pub fn complete(&mut self, process: u64, answer: Answer, single: bool, time_ms: u64) {
        let Some(kind) = answer.completion(single) else {
            return;
        };
        let Some(at) = self.open.remove(&process) else {
            return;
        };
        let invoke = self.events[at].clone();
        self.events.push(HistoryEvent {
            kind,
            answer: Some(answer),
            time_ms,
            ..invoke
        });
    }

    /// The run ended: every operation still open completes as `info`, and
    /// every `info` completion learns from `possible` whether the committed
    /// log holds a command it could have made.
    pub fn close(&mut self, time_ms: u64, possible: impl Fn(u64, &Call) -> bool) {
        for (_, at) in std::mem::take(&mut self.open) {
            let invoke = self.events[at].clone();
            self.events.push(HistoryEvent {
                kind: EventType::Info,
                answer: None,
                time_ms,
                ..invoke
            });
        }
        for e in &mut self.events {
            if e.kind == EventType::Info {
                e.possible = possible(e.user, &e.call);
            }
        }
    }

    /// Writes the history as JSON lines (see `docs/history.md`).
    ///
    /// # Errors
    /// Any error of `out`.
    pub fn write_jsonl(&self, out: &mut impl Write) -> io::Result<()> {
        let mut index = 0;
        let mut faults = self.nemesis.iter().peekable();
        let mut write_faults_before =
            |i: usize, out: &mut dyn Write, index: &mut usize| -> io::Result<()> {
                while let Some(n) = faults.next_if(|n| n.before <= i) {
                    let line = serde_json::json!({
                        "index": *index,
                        "process": "nemesis",
                        "type": "info",
                        "f": n.f,
                        "value": { "node": n.node, "user": n.user, "arg": n.arg },
                        "time": n.time_ms * 1_000_000,
                    });
                    writeln!(out, "{line}")?;
                    *index += 1;
                }
                Ok(())
            };
        for (i, e) in self.events.iter().enumerate() {
            write_faults_before(i, out, &mut index)?;
            let mut value = serde_json::json!({ "user": e.user, "actor": e.actor });
            let v = value.as_object_mut().expect("an object");
            match e.call {
                Call::RegistrationStart => {}
                Call::Stage {
                    content,
                    genuine,
                    replacing,
                    seq,
                } => {
                    v.insert("content".into(), short(&content.0).into());
                    v.insert("genuine".into(), genuine.into());
                    v.insert(
                        "replacing".into(),
                        replacing.map(|r| format!("{:016x}", r.0)).into(),
                    );
                    v.insert("seq".into(), seq.into());
                }
                Call::Activate {
                    registration,
                    content,
                } => {
                    v.insert(
                        "registration".into(),
                        format!("{:016x}", registration.0).into(),
                    );
                    v.insert("content".into(), short(&content.0).into());
                }
                Call::LoginStart { ke1 } => {
                    v.insert("ke1".into(), short(&ke1.0).into());
                }
                Call::LoginFinish { login, valid } => {
                    v.insert("login".into(), login.0.into());
                    v.insert("ke3".into(), if valid { "valid" } else { "invalid" }.into());
                }
                Call::Delete { registration } => {
                    v.insert(
                        "registration".into(),
                        format!("{:016x}", registration.0).into(),
                    );
                }
            }
            if let Some(answer) = e.answer {
                let mut result = serde_json::json!({ "answer": answer.name() });
                let r = result.as_object_mut().expect("an object");
                match answer {
                    Answer::Staged {
                        registration,
                        displaced,
                    } => {
                        r.insert(
                            "registration".into(),
                            format!("{:016x}", registration.0).into(),
                        );
                        r.insert("displaced".into(), displaced.into());
                    }
                    Answer::Activated {
                        registration,
                        remaining,
                    } => {
                        r.insert(
                            "registration".into(),
                            format!("{:016x}", registration.0).into(),
                        );
                        r.insert("remaining".into(), remaining.into());
                    }
                    Answer::Ke2 {
                        login,
                        registration,
                        remaining,
                    } => {
                        r.insert("login".into(), login.0.into());
                        r.insert(
                            "registration".into(),
                            registration.map(|x| format!("{:016x}", x.0)).into(),
                        );
                        r.insert("remaining".into(), remaining.into());
                    }
                    Answer::LoginOk { registration } => {
                        r.insert(
                            "registration".into(),
                            registration.map(|x| format!("{:016x}", x.0)).into(),
                        );
                    }
                    Answer::WrongPassword { remaining } => {
                        r.insert("remaining".into(), remaining.into());
                    }
                    Answer::Deleted { registration } => {
                        r.insert(
                            "registration".into(),
                            format!("{:016x}", registration.0).into(),
                        );
                    }
                    Answer::KeyLivesOn { registration, live } => {
                        r.insert(
                            "registration".into(),
                            format!("{:016x}", registration.0).into(),
                        );
                        r.insert("live".into(), format!("{:016x}", live.0).into());
                    }
                    _ => {}
                }
                v.insert("result".into(), result);
            }
            if e.kind == EventType::Info {
                v.insert("possible".into(), e.possible.into());
            }
            if e.copies != 1 {
                v.insert("copies".into(), e.copies.into());
            }
            let line = serde_json::json!({
                "index": index,
                "process": e.process,
                "type": e.kind.name(),
                "f": e.call.name(),
                "value": value,
                "time": e.time_ms * 1_000_000,
            });
            writeln!(out, "{line}")?;
            index += 1;
        }
        write_faults_before(usize::MAX, out, &mut index)
    }
}
