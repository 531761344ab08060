//! Running the `slipway` binary once: a clean environment (nothing from the developer's shell
//! changes what it does), a time limit, and the finished run's exit code and output with
//! assertions on them. The documented exit codes live here too.

use serde_json::Value;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

// Exit codes (crates/slipway-cli/src/failure.rs).
pub const OK: i32 = 0;
pub const INVALID: i32 = 3;
pub const NOT_FOUND: i32 = 4;
pub const CONFLICT: i32 = 5;
pub const DENIED: i32 = 6;
pub const VERIFY_FAILED: i32 = 7;

/// How long one CLI command may take before it is killed and the test fails.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);

/// Variables that would change what the binary does if the developer's shell set them.
pub const INHERITED_VARIABLES: &[&str] = &[
    "SLIPWAY_SERVER",
    "SLIPWAY_TOKEN",
    "SLIPWAY_CONFIG",
    "SLIPWAY_DATA_DIR",
    "SLIPWAY_DATABASE_URL",
    "SLIPWAY_LISTEN",
    "RUST_LOG",
];

/// The `slipway` binary under test, with none of [`INHERITED_VARIABLES`] and with
/// `SLIPWAY_CONFIG=config` (so the user's own saved login is never read or written).
pub fn slipway_command(config: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_slipway"));
    for var in INHERITED_VARIABLES {
        cmd.env_remove(var);
    }
    cmd.env("SLIPWAY_CONFIG", config).stdin(Stdio::null());
    cmd
}

/// One finished run of the binary.
pub struct Run {
    pub command: String,
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Asserts the exit code, showing everything the command said when it differs.
    #[track_caller]
    pub fn expect(self, code: i32) -> Run {
        assert_eq!(
            self.code, code,
            "`{}` exited with {} instead of {code}\n--- stdout\n{}\n--- stderr\n{}",
            self.command, self.code, self.stdout, self.stderr
        );
        self
    }

    /// Stdout parsed as JSON.
    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "`{}` did not print JSON ({e}):\n{}",
                self.command, self.stdout
            )
        })
    }

    /// Asserts that stderr contains every one of `wanted`.
    #[track_caller]
    pub fn says(&self, wanted: &[&str]) -> &Run {
        for w in wanted {
            assert!(
                self.stderr.contains(w),
                "`{}`: {w:?} missing from stderr:\n{}",
                self.command,
                self.stderr
            );
        }
        self
    }

    /// Asserts that stdout contains every one of `wanted`.
    #[track_caller]
    pub fn prints(&self, wanted: &[&str]) -> &Run {
        for w in wanted {
            assert!(
                self.stdout.contains(w),
                "`{}`: {w:?} missing from stdout:\n{}",
                self.command,
                self.stdout
            );
        }
        self
    }
}

/// Runs `slipway ARGS` (see [`slipway_command`]) with `env` added, bounded by
/// [`COMMAND_TIMEOUT`].
pub fn slipway(config: &Path, env: &[(&str, &str)], args: &[&str]) -> Run {
    let command = format!("slipway {}", args.join(" "));
    let mut cmd = slipway_command(config);
    cmd.args(args).stdout(Stdio::piped()).stderr(Stdio::piped());
    for (key, value) in env {
        cmd.env(key, value);
    }
    let child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run `{command}`: {e}"));
    let pid = child.id();
    let (done, finished) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = done.send(child.wait_with_output());
    });
    let output = match finished.recv_timeout(COMMAND_TIMEOUT) {
        Ok(output) => output.unwrap_or_else(|e| panic!("`{command}`: {e}")),
        Err(_) => {
            signal(pid, "KILL");
            panic!("`{command}` did not finish within {COMMAND_TIMEOUT:?}");
        }
    };
    Run {
        command,
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// Sends `sig` (TERM, KILL) to a process.
pub fn signal(pid: u32, sig: &str) {
    let _ = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}
