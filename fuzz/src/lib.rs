//! Fuzz targets for every parser of untrusted bytes in `backup-vault`: the
//! backup header and file, the key text, the chat archive, the wire frames
//! between clients and vault nodes, and a vault node's disk log; and the
//! runtime's files and cloud frames ([`runtime`]).
//!
//! The logic of each target lives in [`targets`], one function per target
//! taking the raw fuzzer input, so that it builds and is tested on stable.
//! The binaries in `fuzz_targets/` are thin wrappers: under `cargo fuzz`
//! (which sets `--cfg fuzzing`) they are libFuzzer targets; otherwise they
//! replay files through [`replay::main`]. [`seeds`] regenerates the committed
//! seed corpora in `fuzz/seeds/`, and [`prng`] is the small deterministic
//! generator the seeds and smoke tests are drawn from.
//!
//! `fuzz/README.md` says how to run the fuzzers and replay a crash.
#![forbid(unsafe_code)]

pub mod prng;
pub mod replay;
pub mod runtime;
pub mod seeds;
pub mod targets;
pub mod vault_node;

/// The signature of every target: the raw fuzzer input, no result; a panic is a finding.
pub type Target = fn(&[u8]);

/// Every target, by name, with its function. The names are the `[[bin]]`
/// names in `fuzz/Cargo.toml` and the directory names under `fuzz/seeds/`.
pub const TARGETS: [(&str, Target); 14] = [
    ("header", targets::header),
    ("decrypt", targets::decrypt),
    ("roundtrip", targets::roundtrip),
    ("backends", targets::backends),
    ("key_text", targets::key_text),
    ("archive", targets::archive),
    ("wire_client", targets::wire_client),
    ("wire_peer", targets::wire_peer),
    ("vault_node", vault_node::vault_node),
    ("wire_opaque", targets::wire_opaque),
    ("cloud_object", targets::cloud_object),
    ("disk_log", targets::disk_log),
    ("hsm_seal", targets::hsm_seal),
    ("runtime_inputs", runtime::runtime_inputs),
];

/// Looks a target up by name.
pub fn target(name: &str) -> Option<Target> {
    TARGETS.iter().find(|(n, _)| *n == name).map(|&(_, f)| f)
}
