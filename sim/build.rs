//! Provenance for `bvault-suite --version`, every JSON it writes, and every
//! replay line: the git commit, whether the tree had uncommitted changes,
//! the build profile and the compiler. A build outside a git checkout (a
//! source tarball, cargo-mutants' scratch copy) says "unknown".

use std::process::Command;

fn run(cmd: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(cmd).args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

fn main() {
    // Rerun when the commit moves or any source the suite is built from
    // changes, so that "dirty" is never stale. (Directories are scanned
    // whole by cargo.)
    for path in [
        "../.git/HEAD",
        "../.git/index",
        "../.git/refs",
        "../impl/src",
        "../impl/Cargo.toml",
        "../model/src",
        "src",
        "../Cargo.toml",
        "../Cargo.lock",
        "../docs/invariants.toml",
    ] {
        println!("cargo:rerun-if-changed={path}");
    }
    let commit = run("git", &["rev-parse", "HEAD"]).unwrap_or_else(|| "unknown".to_owned());
    let dirty = match run("git", &["status", "--porcelain", "--untracked-files=no"]) {
        Some(s) if s.is_empty() => "clean",
        Some(_) => "dirty",
        None => "unknown",
    };
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_owned());
    let rustc_version = run(&rustc, &["--version"]).unwrap_or_else(|| "unknown".to_owned());
    let profile = std::env::var("PROFILE").unwrap_or_else(|_| "unknown".to_owned());
    println!("cargo:rustc-env=BVAULT_GIT_COMMIT={commit}");
    println!("cargo:rustc-env=BVAULT_GIT_TREE={dirty}");
    println!("cargo:rustc-env=BVAULT_RUSTC={rustc_version}");
    println!("cargo:rustc-env=BVAULT_PROFILE={profile}");
}
