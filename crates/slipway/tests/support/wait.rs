//! Waiting in the end-to-end tests: the one polling loop (and the only sleep) of the test
//! binary. [`wait_until`] polls until something is true and, when its deadline passes, fails
//! naming what it waited for and what it saw last; [`holds_for`] polls for a whole period and
//! fails as soon as something stops being true.

use std::fmt::Display;
use std::time::{Duration, Instant};

/// How long a rollout or a release may take to reach a phase.
pub const ROLLOUT_DEADLINE: Duration = Duration::from_secs(60);
/// How long a process may take to start answering, or to go away.
pub const PROCESS_DEADLINE: Duration = Duration::from_secs(30);

/// The first pause between two polls; it doubles up to [`SLOWEST_POLL`].
const FIRST_POLL: Duration = Duration::from_millis(10);
const SLOWEST_POLL: Duration = Duration::from_millis(200);

/// One look at something being waited for: ready with a value, or not yet (and what was seen).
pub trait Poll<T> {
    fn ready(self) -> Result<T, String>;
}

impl Poll<()> for bool {
    fn ready(self) -> Result<(), String> {
        if self { Ok(()) } else { Err("not yet".into()) }
    }
}

impl<T> Poll<T> for Option<T> {
    fn ready(self) -> Result<T, String> {
        self.ok_or_else(|| "not yet".into())
    }
}

impl<T, E: Display> Poll<T> for Result<T, E> {
    fn ready(self) -> Result<T, String> {
        self.map_err(|e| e.to_string())
    }
}

/// Polls `look` until it is ready and returns its value; after `deadline` the test fails with
/// "timed out after DEADLINE waiting for WHAT; last seen: …".
#[track_caller]
pub fn wait_until<T, P: Poll<T>>(deadline: Duration, what: &str, look: impl FnMut() -> P) -> T {
    try_wait_until(deadline, what, look).unwrap_or_else(|timed_out| panic!("{timed_out}"))
}

/// [`wait_until`] that returns the timeout as an error instead of failing the test.
pub fn try_wait_until<T, P: Poll<T>>(
    deadline: Duration,
    what: &str,
    mut look: impl FnMut() -> P,
) -> Result<T, String> {
    let started = Instant::now();
    let mut pause = FIRST_POLL;
    loop {
        let seen = match look().ready() {
            Ok(value) => return Ok(value),
            Err(seen) => seen,
        };
        if started.elapsed() >= deadline {
            return Err(format!(
                "timed out after {deadline:?} waiting for {what}; last seen: {seen}"
            ));
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(SLOWEST_POLL);
    }
}

/// Polls `look` for the whole of `period`, failing as soon as it is not true: "WHAT stopped
/// holding after …: …".
#[track_caller]
pub fn holds_for<P: Poll<()>>(period: Duration, what: &str, mut look: impl FnMut() -> P) {
    let started = Instant::now();
    let mut pause = FIRST_POLL;
    loop {
        if let Err(seen) = look().ready() {
            panic!(
                "{what} stopped holding after {:?}: {seen}",
                started.elapsed()
            );
        }
        if started.elapsed() >= period {
            return;
        }
        std::thread::sleep(pause.min(period.saturating_sub(started.elapsed())));
        pause = (pause * 2).min(SLOWEST_POLL);
    }
}
