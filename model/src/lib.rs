//! Model checking for the backup vault suite, with stateright.
//!
//! What is here today:
//! - [`stream`]: an exhaustive check of the backup format's STREAM layer
//!   (FMT-1). An adversary builds files from the real chunks of two backups
//!   made with the same key (whole chunks and chunks cut short, in any order
//!   and number, under either header), and the *implementation's own decoder*
//!   must accept only the two original files.
//!
//! The lockout and consensus models (abstract protocol model and the
//! implementation-in-the-loop vault model) come with the vault issues.
#![forbid(unsafe_code)]

pub mod stream;
