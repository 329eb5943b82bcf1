//! Exit codes, and the error type that carries one.
//!
//! | code | [`Exit`] | meaning |
//! |---:|---|---|
//! | 0 | `Success` | success |
//! | 1 | `Failure` | I/O or other runtime error |
//! | 2 | `Usage` | usage error or bad input (clap's own errors also exit 2) |
//! | 3 | `WrongKey` | the backup was made with another key |
//! | 4 | `Damaged` | truncated file, corrupt chunk, bad header, trailing data |
//! | 5 | `Unsupported` | unsupported format version or algorithm |
//! | 6 | `Violation` | `bvault-suite`: a seed failed (an invariant was violated, or an assertion in the simulated code failed), or a model property is violated |
//! | 7 | `Inconclusive` | `bvault-suite`: nothing violated, but the run proved less than asked: a budget stopped a model search, a `sometimes` example was not found, or a signal interrupted a sweep |
//! | 8 | `Refused` | `bvault client`: the vault refused: wrong password, key destroyed, or no key in the vault |

use backup_vault::format::{BackupError, ErrorClass};
use std::io;
use thiserror::Error;

/// The process exit status of `bvault` and `bvault-suite`. The numbers are part of its interface.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Exit {
    /// 0: the command did what was asked.
    Success = 0,
    /// 1: an I/O or other runtime error.
    Failure = 1,
    /// 2: a usage error or bad input.
    Usage = 2,
    /// 3: the key does not match the backup.
    WrongKey = 3,
    /// 4: the backup is damaged, truncated or altered.
    Damaged = 4,
    /// 5: the backup uses a format version or algorithm this build does not read.
    Unsupported = 5,
    /// 6: a simulated seed failed: an invariant was violated, or the
    /// implementation panicked. Its own code, so that a sweep's failure is
    /// never mistaken for a broken command line or a full disk.
    Violation = 6,
    /// 7: no violation was found, but the run proved less than it was
    /// asked to (stopped by a budget or a signal, or a `sometimes` property
    /// without an example): never to be read as a pass.
    Inconclusive = 7,
    /// 8: `bvault client`: the vault refused the password (a guess was
    /// spent), destroyed the key, or holds none for the account.
    Refused = 8,
}

impl Exit {
    /// The numeric code.
    pub fn code(self) -> u8 {
        self as u8
    }

    /// A short lowercase name, used in JSON output.
    pub fn name(self) -> &'static str {
        match self {
            Exit::Success => "success",
            Exit::Failure => "io",
            Exit::Usage => "usage",
            Exit::WrongKey => "wrong_key",
            Exit::Damaged => "damaged",
            Exit::Unsupported => "unsupported",
            Exit::Violation => "violation",
            Exit::Inconclusive => "inconclusive",
            Exit::Refused => "refused",
        }
    }
}

impl From<Exit> for std::process::ExitCode {
    fn from(exit: Exit) -> Self {
        std::process::ExitCode::from(exit.code())
    }
}

impl From<ErrorClass> for Exit {
    fn from(class: ErrorClass) -> Self {
        match class {
            ErrorClass::WrongKey => Exit::WrongKey,
            ErrorClass::Damaged => Exit::Damaged,
            ErrorClass::Unsupported => Exit::Unsupported,
            ErrorClass::Io => Exit::Failure,
        }
    }
}

/// A failed command: what to print and which code to exit with.
///
/// Messages are built from file names, library error messages and counts;
/// never from key text.
#[derive(Debug, Error)]
#[error("{message}")]
pub struct CliError {
    exit: Exit,
    message: String,
    notes: Vec<String>,
}

impl CliError {
    /// A usage error or bad input (exit 2).
    pub fn usage(message: impl Into<String>) -> Self {
        CliError {
            exit: Exit::Usage,
            message: message.into(),
            notes: Vec::new(),
        }
    }

    /// An operating-system error while doing `context` (exit 1).
    pub fn io(context: impl std::fmt::Display, err: &io::Error) -> Self {
        CliError {
            exit: Exit::Failure,
            message: format!("{context}: {err}"),
            notes: Vec::new(),
        }
    }

    /// A backup-format error while doing `context`; the exit code follows
    /// the error's [`ErrorClass`].
    pub fn backup(context: impl std::fmt::Display, err: &BackupError) -> Self {
        CliError {
            exit: err.class().into(),
            message: format!("{context}: {err}"),
            notes: Vec::new(),
        }
    }

    /// An error with an explicit exit code.
    pub fn with_exit(exit: Exit, message: impl Into<String>) -> Self {
        CliError {
            exit,
            message: message.into(),
            notes: Vec::new(),
        }
    }

    /// Adds a line printed after the error as `bvault: note: ...`.
    pub fn note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }

    /// The exit code this error maps to.
    pub fn exit(&self) -> Exit {
        self.exit
    }

    /// The message, without the `bvault: error:` prefix.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Prints the error and its notes on stderr, under `program`'s name.
    pub fn report(&self, program: &str) {
        eprintln!("{program}: error: {}", self.message);
        for note in &self.notes {
            eprintln!("{program}: note: {note}");
        }
    }
}
