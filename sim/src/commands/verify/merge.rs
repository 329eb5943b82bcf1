//! `verify merge DIR...`: the shards of one run, from any job runner, into
//! one report. The shards must come from the same commit and profile and
//! cover `1..=n` exactly once; a missing shard leaves its stages skipped,
//! which makes the merged run inconclusive.

use super::outcome::{Finding, Outcome, OTHER_SHARD};
use super::plan::{self, Profile, Stage};
use super::runner::StageResult;
use backup_vault_sim::catalogue::Catalogue;
use backup_vault_sim::provenance::Provenance;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// One shard's `results.json`, read.
pub struct Shard {
    /// Its folder.
    pub dir: PathBuf,
    /// Its document.
    pub doc: Value,
}

impl Shard {
    /// Reads `DIR/results.json`.
    ///
    /// # Errors
    /// A message naming the folder: unreadable, not JSON, another schema.
    pub fn read(dir: &Path) -> Result<Shard, String> {
        let path = dir.join("results.json");
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("cannot read '{}': {e}", path.display()))?;
        let doc: Value = serde_json::from_str(&text)
            .map_err(|e| format!("'{}' is not JSON: {e}", path.display()))?;
        if doc["schema"] != super::report::SCHEMA {
            return Err(format!(
                "'{}' has schema {}, expected {}",
                path.display(),
                doc["schema"],
                super::report::SCHEMA
            ));
        }
        Ok(Shard {
            // Absolute, so that the merged report can name each shard's
            // bundles wherever it is written.
            dir: dir.canonicalize().unwrap_or_else(|_| dir.to_owned()),
            doc,
        })
    }

    fn index(&self) -> u64 {
        self.doc["shard"]["index"].as_u64().unwrap_or(0)
    }
}

/// What the merged reports are made from.
pub struct Merged {
    /// The profile.
    pub profile: Profile,
    /// The shard count.
    pub count: u64,
    /// The flaw the shards were given.
    pub flaw: Option<String>,
    /// Every stage with its merged result.
    pub stages: Vec<(Stage, Option<StageResult>)>,
    /// The longest shard's wall time.
    pub elapsed: Duration,
    /// Some shard was interrupted.
    pub interrupted: bool,
    /// The provenance of the first shard (all share the commit).
    pub provenance: Provenance,
    /// Warnings to print (a shard from another build, say).
    pub warnings: Vec<String>,
}

fn outcome_from(word: &str, reason: Option<&str>) -> Outcome {
    let r = reason.unwrap_or("").to_owned();
    match word {
        "proved" => Outcome::Proved,
        "violated" => Outcome::Violated,
        "inconclusive" => Outcome::Inconclusive(r),
        "escaped" => Outcome::Escaped(r),
        "skipped" => Outcome::Skipped(r),
        _ => Outcome::Error(r),
    }
}

/// Worse outcomes win when shards disagree about a split stage.
fn rank(o: &Outcome) -> u8 {
    match o {
        Outcome::Violated => 6,
        Outcome::Error(_) => 5,
        Outcome::Escaped(_) => 4,
        Outcome::Inconclusive(_) => 3,
        Outcome::Skipped(w) if !w.starts_with(OTHER_SHARD) => 2,
        Outcome::Proved => 1,
        Outcome::Skipped(_) => 0,
    }
}

fn result_from(s: &Value) -> StageResult {
    StageResult {
        outcome: outcome_from(s["outcome"].as_str().unwrap_or(""), s["reason"].as_str()),
        findings: s["findings"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|f| Finding {
                invariant: f["invariant"].as_str().unwrap_or("?").to_owned(),
                seed: f["seed"].as_u64(),
                place: f["place"].as_str().unwrap_or("").to_owned(),
                message: f["message"].as_str().unwrap_or("").to_owned(),
                bundle: f["bundle"].as_str().map(str::to_owned),
                faults: super::outcome::strings(&f["faults"]),
            })
            .collect(),
        command: s["command"].as_str().unwrap_or("").to_owned(),
        argv: Vec::new(),
        exit_code: s["exit_code"].as_i64().and_then(|c| i32::try_from(c).ok()),
        elapsed: Duration::from_secs_f64(s["elapsed_s"].as_f64().unwrap_or(0.0).max(0.0)),
        figures: s["figures"].clone(),
        stdout: PathBuf::from(s["stdout"].as_str().unwrap_or("")),
        stderr: PathBuf::from(s["stderr"].as_str().unwrap_or("")),
    }
}

/// Sums the additive figures of a split sweep.
fn add_figures(into: &mut Value, from: &Value) {
    for key in ["seeds_run", "seeds_in_shard", "events"] {
        let sum = into[key].as_u64().unwrap_or(0) + from[key].as_u64().unwrap_or(0);
        into[key] = Value::from(sum);
    }
    if let (Some(a), Some(b)) = (
        into["coverage"].as_object_mut(),
        from["coverage"].as_object(),
    ) {
        for (k, v) in b {
            let sum = a.get(k).and_then(Value::as_u64).unwrap_or(0) + v.as_u64().unwrap_or(0);
            a.insert(k.clone(), Value::from(sum));
        }
    }
    // Rates are per shard and do not add; the merged report leaves them out.
    for key in ["events_per_s", "seeds_per_s", "compression"] {
        if let Some(o) = into.as_object_mut() {
            o.remove(key);
        }
    }
}

/// Merges shards.
///
/// # Errors
/// Shards of different profiles, flaws or shard counts, or a shard index
/// given twice.
pub fn merge(shards: &[Shard], catalogue: &Catalogue) -> Result<Merged, String> {
    let first = shards.first().ok_or("no shard given")?;
    let profile = match first.doc["profile"].as_str() {
        Some("quick") => Profile::Quick,
        Some("ci") => Profile::Ci,
        Some("nightly") => Profile::Nightly,
        other => return Err(format!("unknown profile {other:?}")),
    };
    let count = first.doc["shard"]["count"].as_u64().unwrap_or(1);
    let flaw = first.doc["flaw"].as_str().map(str::to_owned);
    let mut warnings = Vec::new();
    let mut seen = vec![false; usize::try_from(count).unwrap_or(0) + 1];
    for s in shards {
        let d = &s.doc;
        if d["profile"] != first.doc["profile"]
            || d["shard"]["count"].as_u64() != Some(count)
            || d["flaw"] != first.doc["flaw"]
        {
            return Err(format!(
                "'{}' is another run (profile, shard count or flaw differ from '{}')",
                s.dir.display(),
                first.dir.display()
            ));
        }
        if d["provenance"]["commit"] != first.doc["provenance"]["commit"] {
            warnings.push(format!(
                "'{}' was built from commit {}, '{}' from {}",
                s.dir.display(),
                d["provenance"]["commit"],
                first.dir.display(),
                first.doc["provenance"]["commit"]
            ));
        }
        let k = usize::try_from(s.index()).unwrap_or(0);
        match seen.get_mut(k) {
            Some(slot) if k >= 1 && !*slot => *slot = true,
            _ => {
                return Err(format!(
                    "'{}': shard {k} of {count} given twice, or out of range",
                    s.dir.display()
                ))
            }
        }
    }
    let missing: Vec<usize> = (1..seen.len()).filter(|k| !seen[*k]).collect();
    let mut stages: Vec<(Stage, Option<StageResult>)> = Vec::new();
    let mut planned = plan::stages(profile, catalogue);
    // The stages the shards planned (a run given --only plans fewer), in
    // the profile's order.
    planned.retain(|st| {
        shards.iter().any(|s| {
            s.doc["stages"]
                .as_array()
                .is_some_and(|a| a.iter().any(|e| e["id"] == st.id.as_str()))
        })
    });
    for stage in planned {
        let mut merged: Option<StageResult> = None;
        for s in shards {
            let Some(entry) = s.doc["stages"]
                .as_array()
                .and_then(|a| a.iter().find(|e| e["id"] == stage.id.as_str()))
            else {
                continue;
            };
            let mut r = result_from(entry);
            for f in &mut r.findings {
                if let Some(b) = &f.bundle {
                    f.bundle = Some(s.dir.join(b).display().to_string());
                }
            }
            merged = Some(match merged {
                None => r,
                Some(mut m) => {
                    if stage.sharded {
                        add_figures(&mut m.figures, &r.figures);
                        m.findings.extend(r.findings.clone());
                        m.elapsed = m.elapsed.max(r.elapsed);
                    }
                    if rank(&r.outcome) > rank(&m.outcome) {
                        let figures = m.figures.clone();
                        let findings = m.findings.clone();
                        m = r;
                        if stage.sharded {
                            m.figures = figures;
                            m.findings = findings;
                        }
                    }
                    m
                }
            });
        }
        let merged = match merged {
            Some(r) if !missing.is_empty() && (stage.sharded || !seen[1]) => Some(StageResult {
                outcome: Outcome::Skipped(format!("shard(s) {missing:?} of {count} not given")),
                ..r
            }),
            other => other,
        };
        stages.push((stage, merged));
    }
    let elapsed = shards
        .iter()
        .filter_map(|s| s.doc["elapsed_s"].as_f64())
        .fold(0.0, f64::max);
    Ok(Merged {
        profile,
        count,
        flaw,
        stages,
        elapsed: Duration::from_secs_f64(elapsed),
        interrupted: shards.iter().any(|s| s.doc["interrupted"] == true),
        provenance: Provenance::from_json(&first.doc["provenance"]),
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_split_stage_takes_the_worst_outcome_and_sums_its_seeds() {
        let mut a = serde_json::json!({"seeds_run": 5, "events": 10, "events_per_s": 3.0, "coverage": {"x": 1}});
        add_figures(
            &mut a,
            &serde_json::json!({"seeds_run": 7, "events": 1, "coverage": {"x": 2, "y": 0}}),
        );
        assert_eq!(a["seeds_run"], 12);
        assert_eq!(a["coverage"]["x"], 3);
        assert!(a.get("events_per_s").is_none());
        assert!(rank(&Outcome::Violated) > rank(&Outcome::Proved));
        assert!(rank(&Outcome::Proved) > rank(&Outcome::Skipped(format!("{OTHER_SHARD} of 2"))));
        assert!(rank(&Outcome::Skipped("interrupted".into())) > rank(&Outcome::Proved));
    }
}
