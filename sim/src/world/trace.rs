//! The event trace: what happened at each step, its hash (SIM-1), and the
//! two ways it is written out (JSON lines, and a readable timeline).
//!
//! Records are small `Copy` values with no heap data, so recording every
//! step costs no allocation; text is made only when a trace is written.

use std::io::{self, Write};

/// Who a trace record is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Party {
    /// Vault node `n`.
    Node(u8),
    /// World actor `a` (a user's device or an adversary).
    Actor(u32),
    /// The cloud store.
    Cloud,
    /// The fault injector.
    World,
}

impl Party {
    fn label(self) -> String {
        match self {
            Party::Node(n) => format!("n{n}"),
            Party::Actor(a) => format!("a{a}"),
            Party::Cloud => "cloud".to_string(),
            Party::World => "world".to_string(),
        }
    }
}

/// One step of a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Record {
    /// Step number (events processed before this one).
    pub step: u64,
    /// Virtual time, ms.
    pub at: u64,
    /// What kind of event: `deliver`, `request`, `reply`, `timer`, `sync`,
    /// `start`, `done`, `failed`, `cloud`, `fault`, `check`.
    pub kind: &'static str,
    /// Who acted or sent.
    pub from: Party,
    /// Who received, if anyone.
    pub to: Option<Party>,
    /// What was carried (message, request or operation name).
    pub what: &'static str,
    /// The user concerned, if any.
    pub user: Option<u64>,
    /// A number that qualifies `what` (a term, a generation, a call id).
    pub arg: u64,
}

impl Record {
    fn fold(&self, h: &mut u64) {
        // A word-at-a-time multiply-xorshift mix: cheap, and stable across
        // builds and platforms (no pointer values, no std hasher).
        fn mix(h: &mut u64, v: u64) {
            *h = (*h ^ v).wrapping_mul(0x9e37_79b9_7f4a_7c15);
            *h ^= *h >> 29;
        }
        fn text(h: &mut u64, s: &str) {
            for chunk in s.as_bytes().chunks(8) {
                let mut word = [0u8; 8];
                word[..chunk.len()].copy_from_slice(chunk);
                mix(h, u64::from_le_bytes(word));
            }
            mix(h, s.len() as u64);
        }
        fn party(p: Party) -> u64 {
            match p {
                Party::Node(n) => 0x100 | u64::from(n),
                Party::Actor(a) => 0x2_0000_0000 | u64::from(a),
                Party::Cloud => 3,
                Party::World => 4,
            }
        }
        mix(h, self.step);
        mix(h, self.at);
        text(h, self.kind);
        text(h, self.what);
        mix(h, party(self.from));
        mix(h, self.to.map_or(0, party));
        mix(h, self.user.unwrap_or(u64::MAX));
        mix(h, self.arg);
    }
}

/// The trace of a run: a running hash of every record, the most recent
/// records (for violation reports), and, if asked for, every record.
#[derive(Clone, Debug)]
pub struct Trace {
    hash: u64,
    recent: std::collections::VecDeque<Record>,
    all: Option<Vec<Record>>,
}

/// How many recent records a violation report can draw on.
pub const RECENT: usize = 4096;

impl Trace {
    /// A trace that keeps every record if `keep_all`.
    pub fn new(keep_all: bool) -> Self {
        Trace {
            hash: 0xcbf2_9ce4_8422_2325,
            recent: std::collections::VecDeque::with_capacity(RECENT),
            all: keep_all.then(Vec::new),
        }
    }

    /// Adds one record.
    pub fn push(&mut self, record: Record) {
        record.fold(&mut self.hash);
        if self.recent.len() == RECENT {
            self.recent.pop_front();
        }
        self.recent.push_back(record);
        if let Some(all) = self.all.as_mut() {
            all.push(record);
        }
    }

    /// The hash of every record so far (SIM-1: equal for equal seeds).
    pub fn hash(&self) -> u64 {
        self.hash
    }

    /// The last records that involve `user` or node `node`, or are faults,
    /// at most `max`, oldest first: the events that led to a violation.
    pub fn leading_to(&self, user: Option<u64>, node: Option<u8>, max: usize) -> Vec<Record> {
        let mut out: Vec<Record> = self
            .recent
            .iter()
            .rev()
            .filter(|r| relevant(r, user, node))
            .take(max)
            .copied()
            .collect();
        out.reverse();
        out
    }

    /// Every record, if the trace kept them.
    pub fn records(&self) -> Option<&[Record]> {
        self.all.as_deref()
    }
}

fn relevant(r: &Record, user: Option<u64>, node: Option<u8>) -> bool {
    if r.kind == "fault" || r.kind == "check" {
        return true;
    }
    let about_user = user.is_some() && r.user == user;
    let about_node = node.is_some_and(|n| r.from == Party::Node(n) || r.to == Some(Party::Node(n)));
    if user.is_none() && node.is_none() {
        return true;
    }
    about_user || about_node
}

/// Writes records as JSON lines: one object per step.
///
/// # Errors
/// Any error of `out`.
pub fn write_jsonl(records: &[Record], out: &mut impl Write) -> io::Result<()> {
    for r in records {
        let line = serde_json::json!({
            "step": r.step,
            "t_ms": r.at,
            "kind": r.kind,
            "from": r.from.label(),
            "to": r.to.map(Party::label),
            "what": r.what,
            "user": r.user,
            "arg": r.arg,
        });
        writeln!(out, "{line}")?;
    }
    Ok(())
}

/// One line of the readable timeline.
pub fn describe(r: &Record) -> String {
    let to =
        r.to.map(|p| format!(" -> {}", p.label()))
            .unwrap_or_default();
    let user = r.user.map(|u| format!(" user {u}")).unwrap_or_default();
    format!(
        "{:>9} ms  #{:<8} {:<8} {}{to}: {}{user} [{}]",
        r.at,
        r.step,
        r.kind,
        r.from.label(),
        r.what,
        r.arg
    )
}

/// Writes the readable timeline of messages between parties.
///
/// # Errors
/// Any error of `out`.
pub fn write_timeline(records: &[Record], out: &mut impl Write) -> io::Result<()> {
    writeln!(
        out,
        "#   virtual time  step      kind     from -> to: what user [term/generation/call]"
    )?;
    for r in records {
        writeln!(out, "{}", describe(r))?;
    }
    Ok(())
}
