//! A folder per failure: everything an auditor needs to replay and read
//! it. For a simulator seed: `replay.sh` (the binary that ran, the seed and
//! the scenario), `scenario.json`, the trimmed `trace.jsonl` and its
//! timeline, the vault `history.jsonl`, the run's `output.txt`, and the
//! counterexample as `diagram.mmd` and `diagram.svg`. For a model property:
//! `replay.sh`, the path in `output.txt`, and the diagram.

use super::outcome::Finding;
use super::plan::{Run, Stage};
use super::runner::shell_line;
use backup_vault_model::diagram::Sequence;
use backup_vault_sim::provenance::Provenance;
use std::path::Path;
use std::process::{Command, Stdio};

/// The sweep-only flags a replay of one seed leaves out, with whether each
/// takes a value.
const SWEEP_ONLY: [(&str, bool); 8] = [
    ("--seeds", true),
    ("--shard", true),
    ("--threads", true),
    ("--fail-fast", false),
    ("--require-coverage", false),
    ("--require", true),
    ("--json", false),
    ("-q", false),
];

/// The scenario flags of a sweep's argument vector (program first).
pub fn scenario_flags(argv: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    let mut i = 3; // program, "sim", "sweep"
    while i < argv.len() {
        if let Some((_, takes)) = SWEEP_ONLY.iter().find(|(f, _)| *f == argv[i]) {
            i += if *takes { 2 } else { 1 };
            continue;
        }
        out.push(argv[i].clone());
        i += 1;
    }
    out
}

/// Writes the bundle of one finding into `dir` (created) and returns an
/// error message if something could not be written. `argv` is the stage's.
pub fn write(
    dir: &Path,
    stage: &Stage,
    argv: &[String],
    finding: &Finding,
    prov: &Provenance,
) -> Result<(), String> {
    let io = |what: &str, e: std::io::Error| format!("{}: {what}: {e}", dir.display());
    std::fs::create_dir_all(dir).map_err(|e| io("create", e))?;
    let bin = prov.binary.display().to_string();
    let is_sweep = matches!(&stage.run, Run::Suite(a) if a[0] == "sim");
    let replay: Vec<String> = if let (true, Some(seed)) = (is_sweep, finding.seed) {
        let mut v = vec![bin.clone(), "sim".into(), "run".into(), "--seed".into()];
        v.push(seed.to_string());
        v.extend(scenario_flags(argv));
        v
    } else {
        // Model stages and tools replay as they ran, without --json; a
        // model finding replays its own slice only.
        let mut v: Vec<String> = argv.iter().filter(|a| *a != "--json").cloned().collect();
        if let Some(slice) = finding
            .place
            .strip_prefix("slice ")
            .and_then(|p| p.split(", depth").next())
        {
            if !v.iter().any(|a| a == "--only") {
                v.extend(["--only".to_owned(), slice.to_owned()]);
            }
        }
        v
    };
    let script = format!(
        "#!/bin/sh\n# {}\n# stage {}: {}\n# {} {}\nexec {} \"$@\"\n",
        prov.line(),
        stage.id,
        stage.title,
        finding.invariant,
        finding.place,
        shell_line(&replay)
    );
    write_file(&dir.join("replay.sh"), &script).map_err(|e| io("replay.sh", e))?;
    make_executable(&dir.join("replay.sh"));
    let scenario = serde_json::json!({
        "stage": stage.id,
        "seed": finding.seed,
        "flags": if is_sweep { scenario_flags(argv) } else { argv[1..].to_vec() },
        "invariant": finding.invariant,
        "place": finding.place,
        "message": finding.message,
        "provenance": prov.json(),
    });
    write_file(
        &dir.join("scenario.json"),
        &serde_json::to_string_pretty(&scenario).unwrap_or_default(),
    )
    .map_err(|e| io("scenario.json", e))?;

    let sequence = if is_sweep && finding.seed.is_some() {
        // Run the seed again with its trace and history: the same seed
        // gives the same run (SIM-1), every event of it.
        let trace = dir.join("trace.jsonl");
        let history = dir.join("history.jsonl");
        let mut cmd_argv = replay.clone();
        cmd_argv.extend([
            "--trace".into(),
            trace.display().to_string(),
            "--history".into(),
            history.display().to_string(),
        ]);
        let out = std::fs::File::create(dir.join("output.txt")).map_err(|e| io("output.txt", e))?;
        let err = out.try_clone().map_err(|e| io("output.txt", e))?;
        let _ = Command::new(&cmd_argv[0])
            .args(&cmd_argv[1..])
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .status();
        let text = std::fs::read_to_string(&trace).unwrap_or_default();
        Sequence::from_trace(&text, 60)
    } else {
        let text = format!(
            "{} {}\n{}\n",
            finding.invariant, finding.place, finding.message
        );
        write_file(&dir.join("output.txt"), &text).map_err(|e| io("output.txt", e))?;
        let lines: Vec<&str> = finding.message.lines().collect();
        Sequence::from_model_path(&lines, &finding.invariant)
    };
    write_file(&dir.join("diagram.mmd"), &sequence.mermaid()).map_err(|e| io("diagram.mmd", e))?;
    write_file(&dir.join("diagram.svg"), &sequence.svg()).map_err(|e| io("diagram.svg", e))?;
    Ok(())
}

fn write_file(path: &Path, text: &str) -> std::io::Result<()> {
    std::fs::write(path, text)
}

#[cfg(unix)]
fn make_executable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755));
}

#[cfg(not(unix))]
fn make_executable(_: &Path) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sweeps_scenario_flags_leave_out_what_only_a_sweep_takes() {
        let argv: Vec<String> = [
            "/bin/x",
            "sim",
            "sweep",
            "--seeds",
            "0..10",
            "--faults",
            "all",
            "--shard",
            "2/4",
            "-q",
            "--fail-fast",
            "--require",
            "nemesis acts",
            "--flaw",
            "double-vote",
            "--json",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        assert_eq!(
            scenario_flags(&argv),
            ["--faults", "all", "--flaw", "double-vote"]
        );
    }
}
