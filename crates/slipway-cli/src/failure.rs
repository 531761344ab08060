//! Exit codes and the error type every command returns.
//!
//! | code | meaning |
//! |---|---|
//! | 0 | success |
//! | 1 | failure not covered below |
//! | 2 | bad command line (clap) |
//! | 3 | invalid input: a document, file or argument was refused |
//! | 4 | not found |
//! | 5 | conflict: stale revision, or still referred to |
//! | 6 | not authenticated or not allowed |
//! | 7 | audit verification failed |
//! | 8 | cannot reach the server |

use std::fmt;

pub const INVALID: u8 = 3;
pub const NOT_FOUND: u8 = 4;
pub const CONFLICT: u8 = 5;
pub const DENIED: u8 = 6;
pub const VERIFY_FAILED: u8 = 7;
pub const UNREACHABLE: u8 = 8;

/// An error with the exit code it maps to.
pub struct Failure {
    pub exit: u8,
    pub error: anyhow::Error,
}

impl Failure {
    pub fn new(exit: u8, message: impl fmt::Display) -> Self {
        Failure {
            exit,
            error: anyhow::anyhow!("{message}"),
        }
    }
}

impl<E: Into<anyhow::Error>> From<E> for Failure {
    fn from(e: E) -> Self {
        Failure {
            exit: 1,
            error: e.into(),
        }
    }
}

impl fmt::Debug for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#}", self.error)
    }
}

pub type CliResult<T = ()> = Result<T, Failure>;
