//! What a stage showed, and what a whole run proved. The verdict words and
//! exit codes are here and nowhere else.

use backup_vault_cli::exit::Exit;
use serde_json::{json, Value};

/// One failure a stage found: a seed (sweeps) or a property (the model).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// The invariant ID (`LOCK-2`, `PANIC`) or the model property's name.
    pub invariant: String,
    /// The failing seed, for sweeps.
    pub seed: Option<u64>,
    /// Where: `step 1234 (5678 ms virtual)`, `depth 12`, `slice login`.
    pub place: String,
    /// What the checker said.
    pub message: String,
    /// The bundle folder, relative to the report, once written.
    pub bundle: Option<String>,
    /// The fault kinds the failing seed had on (sweeps).
    pub faults: Vec<String>,
}

impl Finding {
    /// As JSON (`failures[]` in results.json, and a line of failures.jsonl).
    pub fn json(&self) -> Value {
        json!({
            "invariant": self.invariant,
            "seed": self.seed,
            "place": self.place,
            "message": self.message,
            "bundle": self.bundle,
            "faults": self.faults,
        })
    }
}

/// The strings of a JSON array (anything else: none).
pub fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(|k| k.as_str().map(str::to_owned))
        .collect()
}

/// The result of one stage.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The correct code held everywhere the stage looked, and the stage
    /// explored all it promised; or a broken variant was caught as expected.
    Proved,
    /// The correct code broke an invariant (or the run was given `--flaw`
    /// and a check caught it).
    Violated,
    /// Nothing violated, but the stage proved less than it promised: a
    /// budget or a signal stopped it, a coverage counter or a `sometimes`
    /// example was missing.
    Inconclusive(String),
    /// A broken variant was not caught, or was caught by an unexpected
    /// invariant: the check meant to bite did not.
    Escaped(String),
    /// The stage could not run or its output could not be read.
    Error(String),
    /// Not run: a signal stopped the run first, or another shard runs it,
    /// or the given `--flaw` does not apply to it.
    Skipped(String),
}

impl Outcome {
    /// The word reports use.
    pub fn word(&self) -> &'static str {
        match self {
            Outcome::Proved => "proved",
            Outcome::Violated => "violated",
            Outcome::Inconclusive(_) => "inconclusive",
            Outcome::Escaped(_) => "escaped",
            Outcome::Error(_) => "error",
            Outcome::Skipped(_) => "skipped",
        }
    }

    /// The reason, where there is one.
    pub fn reason(&self) -> Option<&str> {
        match self {
            Outcome::Inconclusive(r)
            | Outcome::Escaped(r)
            | Outcome::Error(r)
            | Outcome::Skipped(r) => Some(r),
            Outcome::Proved | Outcome::Violated => None,
        }
    }
}

/// What a whole run proved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Every stage of the profile proved what it promised.
    Proved,
    /// Some stage found a violation.
    Violated,
    /// No violation, but some stage proved less than promised (see each).
    Inconclusive,
}

impl Verdict {
    /// Combines stage outcomes: any violation wins; then anything short of
    /// proved, except stages another shard runs.
    pub fn of<'a>(outcomes: impl IntoIterator<Item = &'a Outcome>) -> Verdict {
        let mut verdict = Verdict::Proved;
        for o in outcomes {
            match o {
                Outcome::Violated => return Verdict::Violated,
                Outcome::Proved => {}
                Outcome::Skipped(why) if why.starts_with(OTHER_SHARD) => {}
                _ => verdict = Verdict::Inconclusive,
            }
        }
        verdict
    }

    /// The word reports use.
    pub fn word(self) -> &'static str {
        match self {
            Verdict::Proved => "proved",
            Verdict::Violated => "violated",
            Verdict::Inconclusive => "inconclusive",
        }
    }

    /// The process exit status: 0, 6 or 7.
    pub fn exit(self) -> Exit {
        match self {
            Verdict::Proved => Exit::Success,
            Verdict::Violated => Exit::Violation,
            Verdict::Inconclusive => Exit::Inconclusive,
        }
    }
}

/// The reason prefix of a stage left to shard 1.
pub const OTHER_SHARD: &str = "run by shard 1";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_violation_wins_and_anything_short_of_proof_is_inconclusive() {
        let p = Outcome::Proved;
        let v = Outcome::Violated;
        let i = Outcome::Inconclusive("budget".into());
        let e = Outcome::Escaped("not caught".into());
        let s = Outcome::Skipped(format!("{OTHER_SHARD} of 4"));
        let sig = Outcome::Skipped("interrupted".into());
        assert_eq!(Verdict::of([&p, &s]), Verdict::Proved);
        assert_eq!(Verdict::of([&p, &i]), Verdict::Inconclusive);
        assert_eq!(Verdict::of([&e, &p]), Verdict::Inconclusive);
        assert_eq!(Verdict::of([&sig]), Verdict::Inconclusive);
        assert_eq!(Verdict::of([&i, &v, &p]), Verdict::Violated);
        assert_eq!(Verdict::of([]), Verdict::Proved);
        assert_eq!(Verdict::Violated.exit().code(), 6);
        assert_eq!(Verdict::Inconclusive.exit().code(), 7);
    }
}
