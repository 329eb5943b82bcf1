//! The suite's commands: one module per command group.

pub mod check;
pub mod node;
pub mod sim;
pub mod verify;
pub mod walk;
