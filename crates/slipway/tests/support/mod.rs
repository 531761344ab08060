//! What the end-to-end test binaries share: the documented exit codes, running the `slipway`
//! binary with a clean environment and a time limit, the finished run's output and assertions
//! on it, and free loopback ports.
#![allow(dead_code)] // each test binary uses a different part of this module

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

// Exit codes (crates/slipway-cli/src/failure.rs).
pub const OK: i32 = 0;
pub const INVALID: i32 = 3;
pub const NOT_FOUND: i32 = 4;
pub const CONFLICT: i32 = 5;
pub const DENIED: i32 = 6;
pub const VERIFY_FAILED: i32 = 7;

/// How long one CLI command may take before it is killed and the test fails.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a new server may take to answer `/healthz`.
pub const STARTUP_TIMEOUT: Duration = Duration::from_secs(20);
/// How long a server may take to exit after SIGTERM (its drain timeout is 10 s).
pub const STOP_TIMEOUT: Duration = Duration::from_secs(30);

/// Documents in `examples/*.yaml`.
pub const EXAMPLE_DOCUMENTS: usize = 15;

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

pub fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples")
        .canonicalize()
        .expect("the repository's examples/ directory")
}

pub fn path_str(path: &Path) -> &str {
    path.to_str().expect("temporary paths are UTF-8")
}

/// Runs a future to completion on a small runtime (for sqlx and reqwest).
pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
        .block_on(future)
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

/// Waits for `child` to exit, at most `limit`.
pub fn wait_bounded(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + limit;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        if Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
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
}

/// Runs `slipway ARGS` with only the given environment (plus `SLIPWAY_CONFIG=config`, so the
/// user's own saved login is never read or written), bounded by [`COMMAND_TIMEOUT`].
pub fn slipway(config: &Path, env: &[(&str, &str)], args: &[&str]) -> Run {
    let command = format!("slipway {}", args.join(" "));
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_slipway"));
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for var in INHERITED_VARIABLES {
        cmd.env_remove(var);
    }
    cmd.env("SLIPWAY_CONFIG", config);
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

/// A free loopback port: bind port 0 and let it go.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
}
