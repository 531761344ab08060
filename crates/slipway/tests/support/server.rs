//! The server under test: one `slipway server` process on its own scratch directory and data
//! dir (SQLite, or a fresh database in the throwaway PostgreSQL cluster), on a free loopback
//! port, with extra arguments. It can be stopped gracefully, killed with SIGKILL and started
//! again on the same data dir and address. Its log is kept in the scratch directory; when a
//! test fails, the end of the log is printed and the scratch directory is kept.

use super::client::Client;
use super::postgres;
use super::run::{OK, Run, signal, slipway, slipway_command};
use super::wait::{PROCESS_DEADLINE, try_wait_until, wait_until};
use std::fs::OpenOptions;
use std::io::Write;
use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::process::{Child, ExitStatus, Stdio};
use std::time::Duration;
use tempfile::TempDir;

/// How long a server may take to exit after SIGTERM (its drain timeout is 10 s).
pub const STOP_TIMEOUT: Duration = Duration::from_secs(30);
/// How many lines of the server's log a failing test prints.
const LOG_LINES_ON_FAILURE: usize = 200;

/// Where a server keeps its data: the data dir (signing key, admin token and, on the embedded
/// default, the SQLite database) and, on PostgreSQL, the database's URL.
#[derive(Clone, Debug)]
pub struct DataDir {
    pub path: PathBuf,
    pub database_url: Option<String>,
}

impl DataDir {
    /// `--data-dir DIR [--database-url URL]`.
    pub fn args(&self) -> Vec<String> {
        let mut args = vec!["--data-dir".to_string(), path_str(&self.path).to_string()];
        if let Some(url) = &self.database_url {
            args.extend(["--database-url".to_string(), url.clone()]);
        }
        args
    }

    /// The token `slipway init` wrote for the first admin.
    pub fn admin_token(&self) -> String {
        std::fs::read_to_string(self.path.join("admin-token"))
            .expect("init writes DATA_DIR/admin-token")
            .trim()
            .to_string()
    }

    /// The database as sqlx reaches it (the SQLite file writable, or the PostgreSQL URL).
    pub fn sql_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.clone(),
            None => format!(
                "sqlite://{}?mode=rw",
                path_str(&self.path.join("slipway.db"))
            ),
        }
    }

    /// Runs SQL against the database behind Slipway's back (an attacker with database access).
    pub fn execute_sql(&self, statements: &[&str]) {
        postgres::execute_sql(&self.sql_url(), statements);
    }

    /// A copy of this (stopped) server's data under `into`: the data dir's files and, on
    /// PostgreSQL, a copy of the database.
    pub fn copy_to(&self, into: &Path) -> DataDir {
        std::fs::create_dir_all(into).expect("create the copy's directory");
        for entry in std::fs::read_dir(&self.path).expect("the data dir") {
            let entry = entry.expect("a data dir entry");
            if entry.file_type().expect("its type").is_file() {
                std::fs::copy(entry.path(), into.join(entry.file_name())).expect("copy a file");
            }
        }
        DataDir {
            path: into.to_path_buf(),
            database_url: self.database_url.as_deref().map(postgres::copy_database),
        }
    }

    /// `slipway audit verify --data-dir DIR [--database-url URL] EXTRA...`, offline.
    pub fn verify(&self, extra: &[&str]) -> Run {
        let mut args = vec!["audit".to_string(), "verify".to_string()];
        args.extend(self.args());
        args.extend(extra.iter().map(|e| e.to_string()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        slipway(&self.path.join("verify-config.json"), &[], &args)
    }
}

/// Which store a new server's data dir is initialised with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Store {
    /// The embedded default: SQLite in the data dir.
    Sqlite,
    /// A fresh database in the throwaway PostgreSQL cluster.
    Postgres,
}

/// How to start a [`Server`]: `Server::builder().postgres().arg(…).start()`.
#[must_use]
pub struct ServerBuilder {
    store: Store,
    args: Vec<String>,
    log_filter: String,
    existing: Option<DataDir>,
    examples: bool,
}

impl ServerBuilder {
    /// Initialise the data dir on `store` (SQLite by default).
    pub fn store(mut self, store: Store) -> Self {
        self.store = store;
        self
    }

    /// A fresh database in the throwaway PostgreSQL cluster.
    pub fn postgres(self) -> Self {
        self.store(Store::Postgres)
    }

    /// Extra arguments to `slipway server`.
    pub fn args(mut self, args: &[&str]) -> Self {
        self.args.extend(args.iter().map(|a| a.to_string()));
        self
    }

    /// The server's `RUST_LOG` (default `info`).
    pub fn log_filter(mut self, filter: &str) -> Self {
        self.log_filter = filter.to_string();
        self
    }

    /// Start on an initialised data dir (another server's, or a copy) instead of a new one:
    /// a second replica on one PostgreSQL database, or a server on a copy. Whoever owns that
    /// data dir must outlive this server.
    pub fn on(mut self, data: &DataDir) -> Self {
        self.existing = Some(data.clone());
        self
    }

    /// Apply the repository's `examples/` once the server is up.
    pub fn with_examples(mut self) -> Self {
        self.examples = true;
        self
    }

    /// Initialises the data dir (unless [`ServerBuilder::on`] named one), starts the server and
    /// waits until `/healthz` answers.
    pub fn start(self) -> Server {
        let scratch = tempfile::Builder::new()
            .prefix("slipway-e2e-")
            .tempdir()
            .expect("a temporary directory");
        let dir = scratch.path().to_path_buf();
        let config = dir.join("config.json");
        let data = match self.existing {
            Some(data) => data,
            None => {
                let data = DataDir {
                    path: dir.join("data"),
                    database_url: (self.store == Store::Postgres).then(postgres::fresh_database),
                };
                let mut init = vec!["init".to_string()];
                init.extend(data.args());
                let init: Vec<&str> = init.iter().map(String::as_str).collect();
                slipway(&config, &[], &init).expect(OK);
                data
            }
        };
        let admin = Client::new("admin", "http://unstarted", None, config);
        let mut server = Server {
            scratch: Some(scratch),
            dir,
            data,
            listen: String::new(),
            args: self.args,
            log_filter: self.log_filter,
            admin,
            child: None,
            starts: 0,
        };
        server.start_on_a_free_port();
        if self.examples {
            server.apply(&examples_dir());
        }
        server
    }
}

/// A running `slipway server` and its first admin. It is used as that admin's [`Client`]
/// (`server.cli(…)`, `server.get(…)`, `server.wait_for_rollout(…)`); on drop it is stopped
/// with SIGTERM.
pub struct Server {
    scratch: Option<TempDir>,
    dir: PathBuf,
    data: DataDir,
    listen: String,
    args: Vec<String>,
    log_filter: String,
    admin: Client,
    child: Option<Child>,
    starts: u32,
}

impl Deref for Server {
    type Target = Client;

    fn deref(&self) -> &Client {
        &self.admin
    }
}

impl Server {
    /// A server on a new SQLite data dir.
    pub fn start() -> Server {
        Server::builder().start()
    }

    pub fn builder() -> ServerBuilder {
        ServerBuilder {
            store: Store::Sqlite,
            args: Vec::new(),
            log_filter: "info".to_string(),
            existing: None,
            examples: false,
        }
    }

    /// The first admin.
    pub fn admin(&self) -> &Client {
        &self.admin
    }

    /// A client with no token.
    pub fn anonymous(&self) -> Client {
        Client::new("anonymous", self.admin.url(), None, self.config())
    }

    /// The address the server listens on, `127.0.0.1:PORT`.
    pub fn listen(&self) -> &str {
        &self.listen
    }

    pub fn data(&self) -> &DataDir {
        &self.data
    }

    pub fn data_dir(&self) -> &Path {
        &self.data.path
    }

    /// A path in this test's scratch directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Writes `text` to a file in the scratch directory (creating directories) and returns its
    /// path.
    pub fn write(&self, name: &str, text: impl AsRef<[u8]>) -> PathBuf {
        let path = self.path(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create the directory");
        }
        std::fs::write(&path, text).expect("write the file");
        path
    }

    /// `slipway apply -f PATH` as the admin, which must succeed.
    pub fn apply(&self, path: &Path) -> Run {
        self.cli(&["apply", "-f", path_str(path)]).expect(OK)
    }

    /// Writes documents to `name` in the scratch directory and applies them as the admin.
    pub fn apply_text(&self, name: &str, documents: &str) -> Run {
        self.apply(&self.write(name, documents))
    }

    /// Everything the server wrote to stderr so far, over all its starts.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// `slipway audit verify` on this server's data dir, offline.
    pub fn verify_data_dir(&self, extra: &[&str]) -> Run {
        self.data.verify(extra)
    }

    /// Stops the server with SIGTERM and asserts it exited 0 (after its final checkpoint).
    #[track_caller]
    pub fn stop(&mut self) {
        match self.terminate() {
            Some(Ok(status)) => assert!(
                status.success(),
                "slipway server exited with {status} after SIGTERM"
            ),
            Some(Err(problem)) => panic!("{problem}"),
            None => panic!("the server was already stopped"),
        }
    }

    /// Kills the server with SIGKILL: no graceful shutdown, no final checkpoint, and the
    /// instances it runs are orphaned (the next server on this data dir stops them).
    pub fn kill(&mut self) {
        let mut child = self.child.take().expect("the server is running");
        signal(child.id(), "KILL");
        let _ = child.wait();
    }

    /// Starts the server again on the same data dir, address and arguments.
    #[track_caller]
    pub fn start_again(&mut self) {
        assert!(self.child.is_none(), "the server is still running");
        if let Err(status) = self.spawn() {
            panic!("slipway server exited with {status} when started again");
        }
    }

    /// SIGKILL, then a new server process on the same data dir and address.
    pub fn kill_and_restart(&mut self) {
        self.kill();
        self.start_again();
    }

    /// A graceful stop, then a new server process on the same data dir and address.
    pub fn restart(&mut self) {
        self.stop();
        self.start_again();
    }

    /// The CLI's `SLIPWAY_CONFIG` for this server's clients.
    fn config(&self) -> PathBuf {
        self.dir.join("config.json")
    }

    fn log_path(&self) -> PathBuf {
        self.dir.join("server.log")
    }

    /// Starts the server on a free port. Another process may take the port between our probe
    /// and the server's bind: then another port is tried.
    fn start_on_a_free_port(&mut self) {
        for attempt in 1..=3 {
            self.listen = format!("127.0.0.1:{}", free_port());
            match self.spawn() {
                Ok(()) => return,
                Err(_) if attempt < 3 && self.log().contains("cannot listen") => continue,
                Err(status) => panic!("slipway server exited with {status} at start"),
            }
        }
    }

    /// Spawns `slipway server` (its stderr appended to the log) and waits until `/healthz`
    /// answers; `Err` if it exits first.
    fn spawn(&mut self) -> Result<(), ExitStatus> {
        self.starts += 1;
        let mut log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .expect("the server log file");
        writeln!(
            log,
            "=== harness: start #{} on {} {}",
            self.starts,
            self.listen,
            self.args.join(" ")
        )
        .expect("write the server log");
        let mut cmd = slipway_command(&self.config());
        cmd.arg("server")
            .args(self.data.args())
            .args(["--listen", &self.listen])
            .args(["--checkpoint-interval", "1h"])
            .args(&self.args)
            .env("RUST_LOG", &self.log_filter)
            // A log file to read, not a terminal.
            .env("NO_COLOR", "1")
            .stdout(Stdio::null())
            .stderr(Stdio::from(log));
        self.child = Some(cmd.spawn().expect("spawn slipway server"));
        let url = format!("http://{}", self.listen);
        self.admin = Client::new("admin", &url, Some(self.data.admin_token()), self.config());
        let probe = self.anonymous();
        let child = self.child.as_mut().expect("just spawned");
        let exited = wait_until(
            PROCESS_DEADLINE,
            &format!("slipway server to answer {url}/healthz"),
            || {
                if let Ok(Some(status)) = child.try_wait() {
                    return Ok(Some(status));
                }
                match probe.try_send(
                    reqwest::Method::GET,
                    "/healthz",
                    None,
                    Duration::from_millis(500),
                ) {
                    Ok(reply) if reply.status == 200 => Ok(None),
                    Ok(reply) => Err(format!("{} {}", reply.status, reply.body)),
                    Err(e) => Err(e.to_string()),
                }
            },
        );
        match exited {
            None => Ok(()),
            Some(status) => {
                self.child = None;
                Err(status)
            }
        }
    }

    /// SIGTERM, then a bounded wait (SIGKILL when it runs out). `None` if already stopped.
    fn terminate(&mut self) -> Option<Result<ExitStatus, String>> {
        let mut child = self.child.take()?;
        signal(child.id(), "TERM");
        let exited = try_wait_until(STOP_TIMEOUT, "slipway server to exit after SIGTERM", || {
            child.try_wait().ok().flatten()
        });
        Some(exited.inspect_err(|_| {
            signal(child.id(), "KILL");
            let _ = child.wait();
        }))
    }

    /// The end of the server's log, for a failing test's output.
    fn log_tail(&self) -> String {
        let log = self.log();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(LOG_LINES_ON_FAILURE)..].join("\n")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let stopped = self.terminate();
        if std::thread::panicking() {
            let kept = self.scratch.take().map(TempDir::keep);
            eprintln!(
                "--- the last {LOG_LINES_ON_FAILURE} lines of the server log (stopped: {stopped:?}; scratch directory kept at {kept:?})\n{}",
                self.log_tail()
            );
        }
    }
}

/// The repository's `examples/` directory.
pub fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples")
        .canonicalize()
        .expect("the repository's examples/ directory")
}

pub fn path_str(path: &Path) -> &str {
    path.to_str().expect("temporary paths are UTF-8")
}

/// A free loopback port: bind port 0 and let it go.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
}

/// A free loopback address, `127.0.0.1:PORT`.
pub fn loopback_address() -> String {
    format!("127.0.0.1:{}", free_port())
}
