//! Criterion benchmarks live in `benches/`; this library is empty on purpose.

// Benchmarks measure the product's cryptography, never the simulator's
// insecure toy group (`impl/src/opaque/toy_group.rs`).
#[cfg(bvault_toy_group)]
compile_error!(
    "the benchmarks must not be built with --cfg bvault_toy_group: they would time the toy group"
);
