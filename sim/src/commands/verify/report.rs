//! The reports of a verify run, all from one record of what ran:
//! `results.json` (schema `bvault-verify/1`, docs/verify.md), `report.md`,
//! `report.html` (self-contained: tables, plots and diagrams as inline
//! SVG) and `junit.xml`.

use super::outcome::{Outcome, Verdict, OTHER_SHARD};
use super::plan::{Expect, Profile, Stage};
use super::runner::StageResult;
use backup_vault_model::diagram::{escape, Sequence};
use backup_vault_sim::catalogue::{Catalogue, Invariant};
use backup_vault_sim::provenance::Provenance;
use serde_json::{json, Value};
use std::fmt::Write as _;
use std::time::Duration;

/// The schema of `results.json`.
pub const SCHEMA: &str = "bvault-verify/1";

/// Everything a report says.
pub struct Record<'a> {
    /// The profile.
    pub profile: Profile,
    /// (k, n).
    pub shard: (u64, u64),
    /// The broken variant the run was given, if any.
    pub flaw: Option<&'a str>,
    /// Provenance.
    pub prov: &'a Provenance,
    /// The catalogue.
    pub catalogue: &'a Catalogue,
    /// Every stage of the profile, with its result once it ran.
    pub stages: &'a [(Stage, Option<StageResult>)],
    /// Wall time so far.
    pub elapsed: Duration,
    /// A signal stopped the run.
    pub interrupted: bool,
    /// The folder the reports and bundles are written to.
    pub out: &'a std::path::Path,
}

/// One invariant's line in the matrix.
pub struct InvariantRow {
    /// The ID.
    pub id: String,
    /// The statement.
    pub statement: String,
    /// held | violated | check blind | not proved | not checked here.
    pub verdict: &'static str,
    /// Stage ids that counted for it.
    pub checks: Vec<String>,
    /// Its broken variants: (stage id, outcome word).
    pub variants: Vec<(String, &'static str)>,
}

fn outcome_of(r: &Option<StageResult>) -> Outcome {
    r.as_ref().map_or_else(
        || Outcome::Skipped("not run: the run was stopped first".into()),
        |r| r.outcome.clone(),
    )
}

impl Record<'_> {
    /// The run's verdict.
    pub fn verdict(&self) -> Verdict {
        let outcomes: Vec<Outcome> = self.stages.iter().map(|(_, r)| outcome_of(r)).collect();
        Verdict::of(outcomes.iter())
    }

    /// The invariant matrix.
    pub fn rows(&self) -> Vec<InvariantRow> {
        self.catalogue
            .invariants
            .iter()
            .map(|inv| self.row(inv))
            .collect()
    }

    fn row(&self, inv: &Invariant) -> InvariantRow {
        let mut checks = Vec::new();
        let mut variants = Vec::new();
        let (mut violated, mut unproved, mut blind, mut held) = (false, false, false, false);
        for (stage, result) in self.stages {
            let outcome = outcome_of(result);
            if matches!(&outcome, Outcome::Skipped(w) if w.starts_with(OTHER_SHARD)) {
                continue;
            }
            match &stage.expect {
                Expect::Catch { breaks, .. } if *breaks == inv.id => {
                    variants.push((stage.id.clone(), outcome.word()));
                    match outcome {
                        Outcome::Proved => {}
                        Outcome::Escaped(_) => blind = true,
                        _ => unproved = true,
                    }
                }
                Expect::Hold if inv.evidence.contains(&stage.evidence) => {
                    checks.push(stage.id.clone());
                    let names_it = result.as_ref().is_some_and(|r| {
                        r.findings.iter().any(|f| {
                            f.invariant == inv.id
                                || f.invariant.starts_with(&format!("{} ", inv.id))
                        })
                    });
                    match outcome {
                        Outcome::Proved => held = true,
                        Outcome::Violated if names_it => violated = true,
                        Outcome::Violated => held = true,
                        _ => unproved = true,
                    }
                }
                _ => {}
            }
        }
        let verdict = if violated {
            "violated"
        } else if blind {
            "check blind"
        } else if unproved {
            "not proved"
        } else if held {
            "held"
        } else {
            "not checked here"
        };
        InvariantRow {
            id: inv.id.clone(),
            statement: inv.statement.clone(),
            verdict,
            checks,
            variants,
        }
    }

    /// `results.json`.
    pub fn json(&self) -> Value {
        let verdict = self.verdict();
        json!({
            "schema": SCHEMA,
            "provenance": self.prov.json(),
            "profile": self.profile.name(),
            "shard": { "index": self.shard.0, "count": self.shard.1 },
            "flaw": self.flaw,
            "elapsed_s": self.elapsed.as_secs_f64(),
            "interrupted": self.interrupted,
            "verdict": verdict.word(),
            "exit_code": verdict.exit().code(),
            "invariants": self.rows().iter().map(|r| json!({
                "id": r.id,
                "statement": r.statement,
                "verdict": r.verdict,
                "checks": r.checks,
                "variants": r.variants.iter().map(|(id, o)| json!({"stage": id, "outcome": o})).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
            "stages": self.stages.iter().map(|(s, r)| stage_json(s, r)).collect::<Vec<_>>(),
        })
    }

    /// `report.md`.
    pub fn markdown(&self) -> String {
        let v = self.verdict();
        let mut o = String::new();
        let _ = writeln!(o, "# bvault-suite verify: {}\n", v.word().to_uppercase());
        let _ = writeln!(
            o,
            "Profile `{}`, shard {}/{}{}, {:.0} s{}.\n\n{}\n",
            self.profile.name(),
            self.shard.0,
            self.shard.1,
            self.flaw
                .map(|f| format!(", broken variant `{f}` in every stage"))
                .unwrap_or_default(),
            self.elapsed.as_secs_f64(),
            if self.interrupted {
                ", interrupted by a signal: the stages not run are listed as skipped"
            } else {
                ""
            },
            self.prov.line()
        );
        let _ = writeln!(o, "{}\n", verdict_meaning(v));
        let _ = writeln!(o, "## Invariants\n");
        let _ = writeln!(
            o,
            "| invariant | verdict | checks | broken variants caught |"
        );
        let _ = writeln!(o, "|---|---|---|---|");
        for r in self.rows() {
            let caught = r.variants.iter().filter(|(_, w)| *w == "proved").count();
            let _ = writeln!(
                o,
                "| **{}** {} | {} | {} | {}/{} |",
                r.id,
                r.statement,
                r.verdict,
                self.checks_summary(&r.checks),
                caught,
                r.variants.len()
            );
        }
        let _ = writeln!(o, "\n## Stages\n");
        let _ = writeln!(o, "| stage | bound | outcome | time | figures |");
        let _ = writeln!(o, "|---|---|---|---|---|");
        for (s, r) in self.stages {
            let out = outcome_of(r);
            let _ = writeln!(
                o,
                "| `{}` {} | {} | {}{} | {} | {} |",
                s.id,
                s.title,
                s.bound,
                out.word(),
                out.reason().map(|w| format!(": {w}")).unwrap_or_default(),
                r.as_ref()
                    .map_or("".into(), |r| format!("{:.1} s", r.elapsed.as_secs_f64())),
                r.as_ref()
                    .map_or(String::new(), |r| figures_line(&r.figures)),
            );
        }
        let failures = self.failures();
        if !failures.is_empty() {
            let _ = writeln!(o, "\n## Failures\n");
            for (s, r) in failures {
                for f in &r.findings {
                    let _ = writeln!(
                        o,
                        "### `{}`: {} {}\n\n{}\n\nReplay: `{}`{}\n",
                        s.id,
                        f.invariant,
                        f.seed.map(|s| format!("(seed {s})")).unwrap_or_default(),
                        f.place,
                        f.bundle
                            .as_ref()
                            .map(|b| format!("{b}/replay.sh"))
                            .unwrap_or_else(|| r.command.clone()),
                        f.bundle
                            .as_ref()
                            .map(|b| format!(" (bundle: `{b}/`)"))
                            .unwrap_or_default()
                    );
                    if let Some(b) = &f.bundle {
                        if let Ok(m) =
                            std::fs::read_to_string(self.out_dir().join(b).join("diagram.mmd"))
                        {
                            let _ = writeln!(o, "```mermaid\n{m}```\n");
                        }
                    }
                }
            }
        }
        o
    }

    /// Bundles are named relative to the report's folder.
    fn out_dir(&self) -> &std::path::Path {
        self.out
    }

    /// "12 sim, 1 model" for a list of stage ids: the matrix stays
    /// readable, and results.json keeps the ids.
    fn checks_summary(&self, ids: &[String]) -> String {
        let mut counts: Vec<(&'static str, usize)> = Vec::new();
        for (s, _) in self.stages.iter().filter(|(s, _)| ids.contains(&s.id)) {
            let kind = s.evidence.name();
            match counts.iter_mut().find(|(k, _)| *k == kind) {
                Some(c) => c.1 += 1,
                None => counts.push((kind, 1)),
            }
        }
        counts
            .iter()
            .map(|(k, n)| format!("{n} {k}"))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Stages whose findings are failures (not the expected catches).
    fn failures(&self) -> Vec<(&Stage, &StageResult)> {
        self.stages
            .iter()
            .filter_map(|(s, r)| r.as_ref().map(|r| (s, r)))
            .filter(|(s, r)| matches!(s.expect, Expect::Hold) && r.outcome == Outcome::Violated)
            .collect()
    }

    /// `report.html`: one self-contained page.
    pub fn html(&self) -> String {
        let v = self.verdict();
        let mut o = String::new();
        let color = match v {
            Verdict::Proved => "#1a7f37",
            Verdict::Violated => "#c00",
            Verdict::Inconclusive => "#9a6700",
        };
        let _ = write!(
            o,
            r#"<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>bvault-suite verify: {word}</title><style>
body{{font-family:system-ui,sans-serif;margin:2em;max-width:1200px;color:#222}}
table{{border-collapse:collapse;margin:1em 0;font-size:14px}}td,th{{border:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top}}
th{{background:#f4f4f4}}.v-held,.o-proved{{color:#1a7f37;font-weight:bold}}.v-violated,.o-violated{{color:#c00;font-weight:bold}}
.v-check-blind,.o-escaped,.o-error{{color:#c00}}.v-not-proved,.o-inconclusive,.o-skipped{{color:#9a6700}}.v-not-checked-here{{color:#777}}
.verdict{{font-size:28px;font-weight:bold;color:{color}}}code{{background:#f6f8fa;padding:1px 4px}}
.figure{{overflow-x:auto;border:1px solid #eee;margin:1em 0;padding:.5em}}</style></head><body>
<h1>bvault-suite verify</h1><p class="verdict" id="verdict">{WORD}</p><p>{meaning}</p>
<p>Profile <code>{profile}</code>, shard {k}/{n}{flaw}, {secs:.0} s{intr}.<br><small>{prov}</small></p>
"#,
            word = v.word(),
            WORD = v.word().to_uppercase(),
            meaning = escape(verdict_meaning(v)),
            profile = self.profile.name(),
            k = self.shard.0,
            n = self.shard.1,
            flaw = self
                .flaw
                .map(|f| format!(", broken variant <code>{}</code> in every stage", escape(f)))
                .unwrap_or_default(),
            secs = self.elapsed.as_secs_f64(),
            intr = if self.interrupted {
                ", interrupted by a signal"
            } else {
                ""
            },
            prov = escape(&self.prov.line()),
        );
        let _ = write!(
            o,
            "<h2>Invariants</h2><table class=\"verdicts\"><tr><th>invariant</th><th>verdict</th><th>checks</th><th>broken variants</th></tr>"
        );
        for r in self.rows() {
            let variants: Vec<String> = r
                .variants
                .iter()
                .map(|(id, w)| {
                    format!(
                        "<span class=\"o-{w}\">{}</span>",
                        escape(id.trim_start_matches("variant-"))
                    )
                })
                .collect();
            let _ = write!(
                o,
                "<tr><td><b>{}</b> {}</td><td class=\"v-{}\">{}</td><td title=\"{}\">{}</td><td>{}</td></tr>",
                escape(&r.id),
                escape(&r.statement),
                r.verdict.replace(' ', "-"),
                r.verdict,
                escape(&r.checks.join(", ")),
                escape(&self.checks_summary(&r.checks)),
                variants.join(", ")
            );
        }
        o.push_str("</table>");
        o.push_str("<h2>Sweeps</h2>");
        o.push_str(&self.plots());
        let _ = write!(
            o,
            "<h2>Stages</h2><table class=\"stages\"><tr><th>stage</th><th>bound</th><th>outcome</th><th>time</th><th>command</th></tr>"
        );
        for (s, r) in self.stages {
            let out = outcome_of(r);
            let _ = write!(
                o,
                "<tr><td><code>{}</code><br>{}</td><td>{}</td><td class=\"o-{}\">{}{}</td><td>{}</td><td><code>{}</code></td></tr>",
                escape(&s.id),
                escape(&s.title),
                escape(&s.bound),
                out.word(),
                out.word(),
                out.reason().map(|w| format!(": {}", escape(w))).unwrap_or_default(),
                r.as_ref().map_or(String::new(), |r| format!("{:.1}&nbsp;s", r.elapsed.as_secs_f64())),
                r.as_ref().map_or(String::new(), |r| escape(&r.command)),
            );
        }
        o.push_str("</table>");
        let failures = self.failures();
        if !failures.is_empty() {
            o.push_str("<h2>Failures</h2>");
            for (s, r) in failures {
                for f in &r.findings {
                    let _ = write!(
                        o,
                        "<h3><code>{}</code>: {} {}</h3><p>{}<br>{}</p>",
                        escape(&s.id),
                        escape(&f.invariant),
                        f.seed.map(|s| format!("(seed {s})")).unwrap_or_default(),
                        escape(&f.place),
                        f.bundle.as_ref().map_or_else(
                            || format!("replay: <code>{}</code>", escape(&r.command)),
                            |b| format!("bundle <a href=\"{b}/\">{b}/</a>, replay <code>{b}/replay.sh</code>", b = escape(b))
                        ),
                    );
                    let svg = f.bundle.as_ref().and_then(|b| {
                        std::fs::read_to_string(self.out_dir().join(b).join("diagram.svg")).ok()
                    });
                    let svg = svg.unwrap_or_else(|| {
                        let lines: Vec<&str> = f.message.lines().collect();
                        Sequence::from_model_path(&lines, &f.invariant).svg()
                    });
                    let _ = write!(o, "<div class=\"figure\">{svg}</div>");
                }
            }
        }
        o.push_str("</body></html>\n");
        o
    }

    /// Bar charts (inline SVG) of each sweep's seeds per second, and of
    /// the coverage counters summed over the sweeps.
    fn plots(&self) -> String {
        let mut speeds = Vec::new();
        let mut coverage: Vec<(String, u64)> = Vec::new();
        for (s, r) in self.stages {
            let Some(r) = r else { continue };
            if !matches!(s.expect, Expect::Hold) {
                continue;
            }
            if let Some(sps) = r.figures["seeds_per_s"].as_f64() {
                speeds.push((s.id.clone(), sps));
            }
            if let Some(obj) = r.figures["coverage"].as_object() {
                for (k, v) in obj {
                    let n = v.as_u64().unwrap_or(0);
                    match coverage.iter_mut().find(|(name, _)| name == k) {
                        Some(e) => e.1 += n,
                        None => coverage.push((k.clone(), n)),
                    }
                }
            }
        }
        // Failures per fault kind: each failing seed counts once for every
        // kind it had on (the correct code's failures, not variants' catches).
        let mut per_fault: Vec<(String, f64)> = Vec::new();
        for (_, r) in self.failures() {
            for f in &r.findings {
                for k in &f.faults {
                    match per_fault.iter_mut().find(|(name, _)| name == k) {
                        Some(e) => e.1 += 1.0,
                        None => per_fault.push((k.clone(), 1.0)),
                    }
                }
            }
        }
        let mut o = String::new();
        o.push_str(&bars(
            "failures per fault kind (each failing seed counts for every kind it had on)",
            &per_fault,
            "plot-failures",
        ));
        o.push_str(&bars("seeds per second, per sweep", &speeds, "plot-speed"));
        let cov: Vec<(String, f64)> = coverage.into_iter().map(|(k, n)| (k, n as f64)).collect();
        o.push_str(&bars(
            "coverage counters, summed over the sweeps (a zero is a fault that never fired)",
            &cov,
            "plot-coverage",
        ));
        o
    }

    /// `junit.xml`: one test case per stage.
    pub fn junit(&self) -> String {
        use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
        let mut report = Report::new("bvault-suite verify");
        let mut suite = TestSuite::new(format!("verify-{}", self.profile.name()));
        for (s, r) in self.stages {
            let out = outcome_of(r);
            let mut status = match &out {
                Outcome::Proved => TestCaseStatus::success(),
                Outcome::Violated => TestCaseStatus::non_success(NonSuccessKind::Failure),
                Outcome::Escaped(_) => TestCaseStatus::non_success(NonSuccessKind::Failure),
                Outcome::Error(_) | Outcome::Inconclusive(_) => {
                    TestCaseStatus::non_success(NonSuccessKind::Error)
                }
                Outcome::Skipped(_) => TestCaseStatus::skipped(),
            };
            let mut message = out.reason().unwrap_or("").to_owned();
            if let Some(r) = r {
                if let Some(f) = r.findings.first() {
                    if matches!(s.expect, Expect::Hold) {
                        message = format!("{} {}: {}", f.invariant, f.place, f.message);
                    }
                }
            }
            if !message.is_empty() {
                status.set_message(message);
            }
            let mut case = TestCase::new(s.id.clone(), status);
            case.set_classname(format!("verify.{}", s.evidence.name()));
            if let Some(r) = r {
                case.set_time(r.elapsed);
            }
            suite.add_test_case(case);
        }
        report.add_test_suite(suite);
        report.to_string().unwrap_or_default()
    }
}

fn verdict_meaning(v: Verdict) -> &'static str {
    match v {
        Verdict::Proved => "Every stage of the profile proved what it promised, within its bounds, and every broken variant was caught.",
        Verdict::Violated => "A check found a violation: see Failures, each with its bundle and replay command.",
        Verdict::Inconclusive => "Nothing was violated, but the run proved less than its profile promises (a stage was stopped, could not run, missed a coverage example, or a broken variant escaped its check): this is not a pass.",
    }
}

fn stage_json(s: &Stage, r: &Option<StageResult>) -> Value {
    let out = outcome_of(r);
    let (expect, variant, breaks) = match &s.expect {
        Expect::Hold => ("hold", None, None),
        Expect::Catch {
            variant, breaks, ..
        } => ("catch", Some(variant), Some(breaks)),
    };
    json!({
        "id": s.id,
        "title": s.title,
        "evidence": s.evidence.name(),
        "bound": s.bound,
        "expect": expect,
        "variant": variant,
        "breaks": breaks,
        "outcome": out.word(),
        "reason": out.reason(),
        "command": r.as_ref().map(|r| r.command.clone()),
        "exit_code": r.as_ref().and_then(|r| r.exit_code),
        "elapsed_s": r.as_ref().map(|r| r.elapsed.as_secs_f64()),
        "figures": r.as_ref().map_or(Value::Null, |r| r.figures.clone()),
        "findings": r.as_ref().map_or(Vec::new(), |r| r.findings.iter().map(|f| f.json()).collect()),
        "stdout": r.as_ref().map(|r| r.stdout.display().to_string()),
        "stderr": r.as_ref().map(|r| r.stderr.display().to_string()),
    })
}

fn figures_line(f: &Value) -> String {
    let mut parts = Vec::new();
    if let Some(n) = f["seeds_run"].as_u64() {
        parts.push(format!("{n} seeds"));
    }
    if let Some(e) = f["events_per_s"].as_f64() {
        parts.push(format!("{e:.0} events/s"));
    }
    if let Some(u) = f["unique_states"].as_u64() {
        parts.push(format!("{u} unique states"));
    }
    if let Some(h) = f["trace_hash"].as_str() {
        parts.push(format!("trace {h}"));
    }
    parts.join(", ")
}

/// A horizontal bar chart as inline SVG.
fn bars(title: &str, data: &[(String, f64)], class: &str) -> String {
    if data.is_empty() {
        return String::new();
    }
    let max = data
        .iter()
        .map(|(_, v)| *v)
        .fold(0.0_f64, f64::max)
        .max(1e-9);
    let row = 18;
    let height = 30 + data.len() * row;
    let mut o = format!(
        "<div class=\"figure\"><svg xmlns=\"http://www.w3.org/2000/svg\" class=\"{class}\" width=\"760\" height=\"{height}\" font-family=\"sans-serif\" font-size=\"11\"><text x=\"0\" y=\"14\" font-weight=\"bold\">{}</text>",
        escape(title)
    );
    for (i, (label, v)) in data.iter().enumerate() {
        let y = 24 + i * row;
        let w = (v / max * 400.0).round();
        let _ = write!(
            o,
            "<text x=\"0\" y=\"{}\">{}</text><rect x=\"260\" y=\"{y}\" width=\"{w}\" height=\"{}\" fill=\"{}\"/><text x=\"{}\" y=\"{}\">{}</text>",
            y + 12,
            escape(label),
            row - 4,
            if *v == 0.0 { "#c00" } else { "#4a7fb5" },
            265.0 + w,
            y + 12,
            if v.fract() == 0.0 { format!("{v:.0}") } else { format!("{v:.1}") }
        );
    }
    o.push_str("</svg></div>");
    o
}
