//! Model checking for the backup vault suite, with stateright.
//!
//! - [`stream`]: an exhaustive check of the backup format's STREAM layer
//!   (FMT-1). An adversary builds files from the real chunks of two backups
//!   made with the same key (whole chunks and chunks cut short, in any order
//!   and number, under either header), and the *implementation's own decoder*
//!   must accept only the two original files.
//! - [`vault`]: the implementation in the loop. The vault node's own code
//!   (consensus, records, lockout) with symbolic cryptography, under every
//!   interleaving of message deliveries, duplicates, timers, disk syncs,
//!   crashes, restarts, rollbacks and client requests within a bound.
//!
//! - [`walk`]: seeded random walks through a model, far longer than an
//!   exhaustive search reaches, judged by the same properties: with the
//!   vault model, the suite's symbolic-cryptography sweep.
//! - [`diagram`]: counterexamples drawn as sequence diagrams (Mermaid and
//!   SVG), from a model path or a simulator trace; the Explorer and
//!   `bvault-suite verify` draw them.
//!
//! `docs/model-checking.md` says what each model abstracts away and how far
//! each is explored.
#![forbid(unsafe_code)]

pub mod deadline;
pub mod diagram;
pub mod protocol;
pub mod run;
pub mod shortest;
pub mod stream;
pub mod vault;
pub mod walk;
