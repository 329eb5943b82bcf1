//! The client-visible history of vault operations, for external
//! linearizability checkers (format: `docs/history.md`).
//!
//! Every operation a device or an adversary starts that involves the vault
//! is one `invoke` event and, unless the caller crashed first, one
//! completion: `ok`, `fail` (it definitely did not take effect) or `info`
//! (it may or may not have taken effect: a timeout, a crash, an unreachable
//! vault). This is the Jepsen/Knossos convention; Porcupine reads the same
//! pairs as `{ClientId, Input, Call, Output, Return}`.

use std::io::{self, Write};

/// Invocation or completion.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventType {
    /// The operation started.
    Invoke,
    /// It took effect, with the result given.
    Ok,
    /// It did not take effect.
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

/// One history event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HistoryEvent {
    /// The process (the actor: one device or adversary; a crashed device
    /// that resumes is a new process, as Knossos requires).
    pub process: u64,
    /// Invoke or completion.
    pub kind: EventType,
    /// The operation: `register`, `login`, `change-password`, `delete`.
    pub f: &'static str,
    /// The user.
    pub user: u64,
    /// The argument: for `login`, which password was tried (`"right"` or
    /// `"wrong"`; passwords themselves are secrets and never written).
    pub arg: Option<&'static str>,
    /// The result (on completions): `ok`, `wrong-password`, `destroyed`,
    /// `not-registered`, `unavailable`, ...
    pub result: Option<String>,
    /// Guesses remaining, when the vault said.
    pub remaining: Option<u8>,
    /// Virtual time, ms.
    pub time_ms: u64,
}

/// A run's history.
#[derive(Clone, Debug, Default)]
pub struct History {
    /// Events in the order they happened.
    pub events: Vec<HistoryEvent>,
}

impl History {
    /// Writes the history as JSON lines (see `docs/history.md`).
    ///
    /// # Errors
    /// Any error of `out`.
    pub fn write_jsonl(&self, out: &mut impl Write) -> io::Result<()> {
        for (i, e) in self.events.iter().enumerate() {
            let line = serde_json::json!({
                "index": i,
                "process": e.process,
                "type": e.kind.name(),
                "f": e.f,
                "value": {
                    "user": e.user,
                    "arg": e.arg,
                    "result": e.result,
                    "remaining": e.remaining,
                },
                "time": e.time_ms * 1_000_000,
            });
            writeln!(out, "{line}")?;
        }
        Ok(())
    }
}
