//! Where a result came from: the build (commit, tree, profile, compiler,
//! recorded by `build.rs`) and the run (start time, the binary that ran).
//! Every JSON document `bvault-suite verify` writes carries it, and so do
//! `--version` and the replay scripts, so that a report names exactly what
//! produced it.

use serde_json::{json, Value};
use std::path::PathBuf;
use std::time::SystemTime;

/// The git commit the suite was built from, or "unknown".
pub const COMMIT: &str = env!("BVAULT_GIT_COMMIT");
/// "clean", "dirty" (tracked files had uncommitted changes) or "unknown".
pub const TREE: &str = env!("BVAULT_GIT_TREE");
/// The cargo profile family: "release" or "debug".
pub const PROFILE: &str = env!("BVAULT_PROFILE");
/// `rustc --version` of the compiler that built the suite.
pub const RUSTC: &str = env!("BVAULT_RUSTC");
/// The crate version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The `--version` text, with `$group` after the compiler: empty, or the
/// toy group named.
macro_rules! long_version {
    ($group:literal) => {
        concat!(
            env!("CARGO_PKG_VERSION"),
            " (commit ",
            env!("BVAULT_GIT_COMMIT"),
            ", ",
            env!("BVAULT_GIT_TREE"),
            " tree, ",
            env!("BVAULT_PROFILE"),
            " build, ",
            env!("BVAULT_RUSTC"),
            $group,
            ")"
        )
    };
}

/// `0.1.0 (commit 0123abcd…, clean tree, release build, rustc 1.95.0 …)`,
/// what `bvault-suite --version` prints.
#[cfg(not(bvault_toy_group))]
pub const LONG_VERSION: &str = long_version!("");

/// What `bvault-suite --version` prints in a build on the insecure toy
/// group (`scripts/toy-group.sh`): the same, and the group named.
#[cfg(bvault_toy_group)]
pub const LONG_VERSION: &str =
    long_version!(", INSECURE toy group for ristretto255: simulation only");

/// What built the binary.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Build {
    /// The crate version.
    pub version: String,
    /// The git commit.
    pub commit: String,
    /// "clean", "dirty" or "unknown".
    pub tree: String,
    /// "release" or "debug".
    pub profile: String,
    /// The compiler.
    pub rustc: String,
    /// The OPAQUE group: "ristretto255", or the toy group of the fast
    /// sweep mode (`backup_vault::opaque::suite::GROUP_NAME`).
    pub group: String,
}

impl Build {
    /// This binary's build.
    pub fn this() -> Build {
        Build {
            version: VERSION.to_owned(),
            commit: COMMIT.to_owned(),
            tree: TREE.to_owned(),
            profile: PROFILE.to_owned(),
            rustc: RUSTC.to_owned(),
            group: backup_vault::opaque::suite::GROUP_NAME.to_owned(),
        }
    }
}

/// The provenance of one run.
#[derive(Clone, Debug)]
pub struct Provenance {
    /// What built the binary that ran.
    pub build: Build,
    /// When the run started, RFC 3339 in UTC, to the second.
    pub started: String,
    /// The binary that ran (absolute), as replay lines name it.
    pub binary: PathBuf,
}

impl Provenance {
    /// The provenance of this process, started now.
    pub fn now() -> Provenance {
        let binary = std::env::current_exe()
            .and_then(|p| p.canonicalize())
            .unwrap_or_else(|_| PathBuf::from("bvault-suite"));
        Provenance {
            build: Build::this(),
            started: humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
            binary,
        }
    }

    /// Read back from a document's `provenance` object (a merged report
    /// names the build of its shards, not of the binary that merged them).
    pub fn from_json(v: &Value) -> Provenance {
        let s = |k: &str| v[k].as_str().unwrap_or("unknown").to_owned();
        Provenance {
            build: Build {
                version: s("version"),
                commit: s("commit"),
                tree: s("tree"),
                profile: s("profile"),
                rustc: s("rustc"),
                // Documents from before the field existed were all made
                // on ristretto255.
                group: v["group"].as_str().unwrap_or("ristretto255").to_owned(),
            },
            started: s("started"),
            binary: PathBuf::from(s("binary")),
        }
    }

    /// As a JSON object (`provenance` in every document).
    pub fn json(&self) -> Value {
        json!({
            "version": self.build.version,
            "commit": self.build.commit,
            "tree": self.build.tree,
            "profile": self.build.profile,
            "rustc": self.build.rustc,
            "group": self.build.group,
            "started": self.started,
            "binary": self.binary.display().to_string(),
        })
    }

    /// One line for reports and replay scripts.
    pub fn line(&self) -> String {
        let b = &self.build;
        format!(
            "bvault-suite {} (commit {}, {} tree, {} build, {}{}), started {}, binary {}",
            b.version,
            b.commit,
            b.tree,
            b.profile,
            b.rustc,
            if b.group == "ristretto255" {
                String::new()
            } else {
                format!(", group {}", b.group)
            },
            self.started,
            self.binary.display()
        )
    }
}
