//! The vault library's integration tests, one test binary: each module was
//! its own binary, and linking eighteen binaries against the library and
//! its dependencies cost CI more than compiling the tests (measured: 66 s of
//! wall time and 119 s of CPU for the eighteen, 42 s and 72 s for this one).
//! Select a module as a filter: `cargo test -p backup-vault --test
//! integration format_props`.

mod client_common;
mod cloud_common;

mod archive_generate;
mod archive_props;
mod archive_vector;
mod client_failed_backups;
mod client_faults;
mod client_flows;
mod client_generations;
mod client_redaction;
mod client_two_devices;
mod cloud_conformance;
mod cloud_directory;
mod cloud_faults;
mod cloud_model;
mod format_props;
mod known_answer;
mod opaque_decode;
mod opaque_protocol;
mod wire_disk;
mod wire_frame;
mod wire_stream;
mod wire_vault;
