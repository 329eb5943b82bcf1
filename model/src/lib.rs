//! Model checking for the backup vault (placeholder while the format model is written).
#![forbid(unsafe_code)]
