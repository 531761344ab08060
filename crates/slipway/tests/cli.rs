//! End-to-end tests of the `slipway` binary: every test runs the real executable as separate
//! processes, against a real `slipway server` process reached over real HTTP on a free loopback
//! port, with its own temporary data dir (SQLite, or a fresh database in a throwaway PostgreSQL
//! cluster). They check what a user sees: exit codes, what stdout and stderr say, that batches
//! are atomic, that stale writes and dangling deletes are refused, that tokens and access work,
//! that the audit log survives a graceful shutdown and that `audit verify` names the entry an
//! attacker with database access altered, and that secrets stay out of logs and the audit log.
#![allow(clippy::unwrap_used)] // in tests a panic is a failing test, which is the point

use serde_json::Value;
use sqlx::AnyPool;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};
use tempfile::TempDir;

mod support;
use support::*;

/// An HTTP response, read whole.
struct Reply {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: String,
}

fn http_get(url: &str, token: Option<&str>, timeout: Duration) -> Result<Reply, reqwest::Error> {
    block_on(async {
        let client = reqwest::Client::builder().timeout(timeout).build()?;
        let mut request = client.get(url);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.text().await?;
        Ok(Reply {
            status,
            headers,
            body,
        })
    })
}

/// Runs one SQL statement against a database, behind Slipway's back.
fn execute_sql(url: &str, statement: &str) {
    block_on(async {
        sqlx::any::install_default_drivers();
        let pool = AnyPool::connect(url)
            .await
            .unwrap_or_else(|e| panic!("cannot connect to {url}: {e}"));
        sqlx::query(sqlx::AssertSqlSafe(statement.to_string()))
            .execute(&pool)
            .await
            .unwrap_or_else(|e| panic!("{statement}: {e}"));
        pool.close().await;
    });
}

/// A fresh, empty database in the shared throwaway PostgreSQL cluster; returns its URL.
fn fresh_postgres_database(name: &str) -> String {
    let cluster = slipway_pgtest::PgCluster::shared();
    let db = format!("cli_{name}_{}", std::process::id());
    block_on(async {
        sqlx::any::install_default_drivers();
        let admin = AnyPool::connect(&cluster.url("postgres"))
            .await
            .expect("connect to the throwaway cluster");
        for statement in [
            format!("DROP DATABASE IF EXISTS {db}"),
            format!("CREATE DATABASE {db}"),
        ] {
            sqlx::query(sqlx::AssertSqlSafe(statement.clone()))
                .execute(&admin)
                .await
                .unwrap_or_else(|e| panic!("{statement}: {e}"));
        }
        admin.close().await;
    });
    cluster.url(&db)
}

/// A `slipway server` process on its own initialised data dir, stopped with SIGTERM on drop.
struct Server {
    root: TempDir,
    data_dir: PathBuf,
    database_url: Option<String>,
    url: String,
    admin_token: String,
    child: Option<Child>,
}

impl Server {
    /// A server on the data dir's SQLite database.
    fn start() -> Server {
        Server::start_with(None, "info")
    }

    /// A server on a PostgreSQL database.
    fn start_postgres(database_url: String) -> Server {
        Server::start_with(Some(database_url), "info")
    }

    /// Runs `slipway init`, then `slipway server` (its stderr, at `log_filter`, goes to
    /// `server.log` in the temp dir) and waits until `/healthz` answers.
    fn start_with(database_url: Option<String>, log_filter: &str) -> Server {
        let root = tempfile::Builder::new()
            .prefix("slipway-cli-test-")
            .tempdir()
            .expect("a temporary directory");
        let data_dir = root.path().join("data");
        let config = root.path().join("config.json");
        let mut init = vec!["init", "--data-dir", path_str(&data_dir)];
        if let Some(url) = &database_url {
            init.extend(["--database-url", url]);
        }
        slipway(&config, &[], &init).expect(OK);
        let admin_token = std::fs::read_to_string(data_dir.join("admin-token"))
            .expect("init writes DATA_DIR/admin-token")
            .trim()
            .to_string();
        let log_path = root.path().join("server.log");
        // Another process may take the port between our probe and the server's bind: retry.
        for attempt in 1..=3 {
            let listen = format!("127.0.0.1:{}", free_port());
            let mut cmd = Command::new(env!("CARGO_BIN_EXE_slipway"));
            cmd.args(["server", "--data-dir", path_str(&data_dir)])
                .args(["--listen", &listen])
                .args(["--checkpoint-interval", "1h"]);
            if let Some(url) = &database_url {
                cmd.args(["--database-url", url]);
            }
            for var in INHERITED_VARIABLES {
                cmd.env_remove(var);
            }
            let log = File::create(&log_path).expect("the server log file");
            let mut child = cmd
                .env("SLIPWAY_CONFIG", &config)
                .env("RUST_LOG", log_filter)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::from(log))
                .spawn()
                .expect("spawn slipway server");
            let url = format!("http://{listen}");
            match wait_until_healthy(&mut child, &url) {
                Ok(()) => {
                    return Server {
                        root,
                        data_dir,
                        database_url,
                        url,
                        admin_token,
                        child: Some(child),
                    };
                }
                Err(problem) => {
                    signal(child.id(), "KILL");
                    let _ = child.wait();
                    let log = std::fs::read_to_string(&log_path).unwrap_or_default();
                    if attempt < 3 && log.contains("cannot listen") {
                        continue;
                    }
                    panic!("slipway server did not start: {problem}\n--- server log\n{log}");
                }
            }
        }
        unreachable!("the loop returns or panics")
    }

    /// Runs the CLI against this server as the first admin.
    fn cli(&self, args: &[&str]) -> Run {
        self.cli_as(&self.admin_token, args)
    }

    /// Runs the CLI against this server with `token`.
    fn cli_as(&self, token: &str, args: &[&str]) -> Run {
        slipway(
            &self.config_path(),
            &[("SLIPWAY_SERVER", &self.url), ("SLIPWAY_TOKEN", token)],
            args,
        )
    }

    /// `slipway audit verify --data-dir D [--database-url URL] EXTRA...`, offline.
    fn verify_data_dir(&self, extra: &[&str]) -> Run {
        let mut args = vec!["audit", "verify", "--data-dir", path_str(&self.data_dir)];
        if let Some(url) = &self.database_url {
            args.extend(["--database-url", url]);
        }
        args.extend(extra);
        slipway(&self.config_path(), &[], &args)
    }

    /// Where this server's data lives: SQLite file (writable) or its PostgreSQL database.
    fn database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.clone(),
            None => format!(
                "sqlite://{}?mode=rw",
                path_str(&self.data_dir.join("slipway.db"))
            ),
        }
    }

    fn config_path(&self) -> PathBuf {
        self.root.path().join("config.json")
    }

    /// A path in this test's temp dir.
    fn file(&self, name: &str) -> PathBuf {
        self.root.path().join(name)
    }

    /// Everything the server wrote to stderr so far.
    fn log(&self) -> String {
        std::fs::read_to_string(self.file("server.log")).unwrap_or_default()
    }

    fn http_get(&self, path: &str, token: Option<&str>) -> Reply {
        http_get(
            &format!("{}{path}", self.url),
            token,
            Duration::from_secs(10),
        )
        .unwrap_or_else(|e| panic!("GET {path}: {e}"))
    }

    /// Stops the server with SIGTERM and asserts it exited 0 (after its final checkpoint).
    fn stop(&mut self) {
        match self.terminate() {
            Some(Ok(status)) => assert!(
                status.success(),
                "slipway server exited with {status} after SIGTERM\n--- server log\n{}",
                self.log()
            ),
            Some(Err(problem)) => panic!("{problem}\n--- server log\n{}", self.log()),
            None => panic!("the server was already stopped"),
        }
    }

    /// SIGTERM, then a bounded wait (SIGKILL when it runs out). `None` if already stopped.
    fn terminate(&mut self) -> Option<Result<ExitStatus, String>> {
        let mut child = self.child.take()?;
        signal(child.id(), "TERM");
        Some(match wait_bounded(&mut child, STOP_TIMEOUT) {
            Some(status) => Ok(status),
            None => {
                signal(child.id(), "KILL");
                let _ = child.wait();
                Err(format!(
                    "slipway server did not exit within {STOP_TIMEOUT:?} of SIGTERM"
                ))
            }
        })
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.terminate();
    }
}

fn wait_until_healthy(child: &mut Child, url: &str) -> Result<(), String> {
    let deadline = Instant::now() + STARTUP_TIMEOUT;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("it exited with {status}"));
        }
        if let Ok(reply) = http_get(&format!("{url}/healthz"), None, Duration::from_millis(500))
            && reply.status == 200
        {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!(
                "GET {url}/healthz did not answer within {STARTUP_TIMEOUT:?}"
            ));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Writes a file in the test's temp dir and returns its path.
fn write_file(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("create the directory");
    }
    std::fs::write(&path, text).expect("write the file");
    path
}

/// Names of the items of a JSON list of resources.
fn names(list: &Value) -> Vec<String> {
    list.as_array()
        .expect("a JSON list")
        .iter()
        .map(|r| r["metadata"]["name"].as_str().expect("a name").to_string())
        .collect()
}

/// A revision from `get -o yaml` output.
fn yaml_revision(yaml: &str) -> i64 {
    yaml.lines()
        .find_map(|l| l.trim().strip_prefix("revision: "))
        .and_then(|r| r.parse().ok())
        .unwrap_or_else(|| panic!("no revision in\n{yaml}"))
}

fn apply_examples(server: &Server) -> Run {
    server
        .cli(&["apply", "-f", path_str(&examples_dir())])
        .expect(OK)
}

#[test]
fn apply_examples_is_idempotent_and_get_shows_them() {
    let server = Server::start();
    let first = apply_examples(&server);
    let lines: Vec<&str> = first.stdout.lines().collect();
    assert_eq!(lines.len(), EXAMPLE_DOCUMENTS, "{}", first.stdout);
    for line in &lines {
        assert!(
            line.ends_with(" created (revision 1)"),
            "not created: {line}"
        );
    }
    for wanted in [
        "Service payments-api",
        "Team payments",
        "Environment production",
    ] {
        assert!(first.stdout.contains(wanted), "{}", first.stdout);
    }

    let again = server
        .cli(&["apply", "-f", path_str(&examples_dir()), "-o", "json"])
        .expect(OK)
        .json();
    let results = again.as_array().expect("a list of results");
    assert_eq!(results.len(), EXAMPLE_DOCUMENTS);
    for r in results {
        assert_eq!(r["action"], "unchanged", "{r}");
        assert_eq!(r["revision"], 1, "{r}");
    }

    let services = server.cli(&["get", "services", "-o", "json"]).expect(OK);
    assert_eq!(
        names(&services.json()),
        ["auth-api", "checkout-web", "ledger", "payments-api"]
    );

    let one = server
        .cli(&["get", "svc", "payments-api", "-o", "yaml"])
        .expect(OK);
    assert!(one.stdout.contains("owner: payments"), "{}", one.stdout);
    assert!(one.stdout.contains("name: payments-api"), "{}", one.stdout);

    let unknown = server.cli(&["get", "widgets"]).expect(NOT_FOUND);
    assert!(unknown.stderr.contains("widgets"), "{}", unknown.stderr);
}

const TEAM_T1: &str = "apiVersion: slipway.dev/v1alpha1
kind: Team
metadata:
  name: t1
spec:
  displayName: Team One
";

const TEAM_T2_AND_URGENT_SERVICE: &str = "apiVersion: slipway.dev/v1alpha1
kind: Team
metadata:
  name: t2
spec:
  displayName: Team Two
---
apiVersion: slipway.dev/v1alpha1
kind: Service
metadata:
  name: s1
spec:
  owner: t1
  tier: urgent
";

#[test]
fn invalid_batches_name_the_problem_and_apply_nothing() {
    let server = Server::start();
    let batch = server.file("batch");
    write_file(&batch, "a.yaml", TEAM_T1);
    let second = write_file(&batch, "b.yaml", TEAM_T2_AND_URGENT_SERVICE);
    let refused = server
        .cli(&["apply", "-f", path_str(&batch)])
        .expect(INVALID);
    for wanted in [
        format!("{} (document 2)", second.display()),
        "spec.tier".to_string(),
        "unknown variant `urgent`".to_string(),
    ] {
        assert!(
            refused.stderr.contains(&wanted),
            "{wanted:?} missing from {}",
            refused.stderr
        );
    }
    assert!(
        refused.stderr.contains("nothing was applied"),
        "{}",
        refused.stderr
    );
    // All or nothing: not even the valid documents before the bad one were applied.
    let teams = server.cli(&["get", "teams", "-o", "json"]).expect(OK);
    assert!(names(&teams.json()).is_empty(), "{}", teams.stdout);
    let services = server.cli(&["get", "services", "-o", "json"]).expect(OK);
    assert!(names(&services.json()).is_empty(), "{}", services.stdout);

    let dangling = write_file(
        server.root.path(),
        "dangling.yaml",
        "apiVersion: slipway.dev/v1alpha1
kind: Service
metadata:
  name: orphan
spec:
  owner: nobody
  tier: low
",
    );
    let refused = server
        .cli(&["apply", "-f", path_str(&dangling)])
        .expect(INVALID);
    for wanted in [
        "dangling.yaml (document 1)",
        "spec.owner",
        "\"nobody\"",
        "does not exist",
    ] {
        assert!(
            refused.stderr.contains(wanted),
            "{wanted:?} missing from {}",
            refused.stderr
        );
    }

    let cycle = write_file(
        server.root.path(),
        "cycle.yaml",
        "apiVersion: slipway.dev/v1alpha1
kind: Team
metadata:
  name: t1
spec:
  displayName: Team One
---
apiVersion: slipway.dev/v1alpha1
kind: Service
metadata:
  name: c1
spec:
  owner: t1
  tier: low
  dependsOn: [c2]
---
apiVersion: slipway.dev/v1alpha1
kind: Service
metadata:
  name: c2
spec:
  owner: t1
  tier: low
  dependsOn: [c1]
",
    );
    let refused = server
        .cli(&["apply", "-f", path_str(&cycle)])
        .expect(INVALID);
    assert!(refused.stderr.contains("cycle"), "{}", refused.stderr);
    assert!(
        refused.stderr.contains("spec.dependsOn"),
        "{}",
        refused.stderr
    );
    let teams = server.cli(&["get", "teams", "-o", "json"]).expect(OK);
    assert!(names(&teams.json()).is_empty(), "{}", teams.stdout);
}

#[test]
fn a_stale_revision_is_refused_with_the_current_one() {
    let server = Server::start();
    apply_examples(&server);
    let read = server
        .cli(&["get", "team", "payments", "-o", "yaml"])
        .expect(OK)
        .stdout;
    let read_revision = yaml_revision(&read);
    assert!(read.contains("displayName: Payments\n"), "{read}");

    let file = server.file("payments.yaml");
    std::fs::write(
        &file,
        read.replace("displayName: Payments", "displayName: Payments Team"),
    )
    .expect("write");
    let applied = server.cli(&["apply", "-f", path_str(&file)]).expect(OK);
    assert_eq!(
        applied.stdout.trim(),
        format!("Team payments updated (revision {})", read_revision + 1)
    );

    // Someone edits the copy they read before that change: refused, nothing changes.
    std::fs::write(
        &file,
        read.replace("displayName: Payments", "displayName: Payments Again"),
    )
    .expect("write");
    let stale = server
        .cli(&["apply", "-f", path_str(&file)])
        .expect(CONFLICT);
    assert!(
        stale
            .stderr
            .contains(&format!("is at revision {}", read_revision + 1)),
        "{}",
        stale.stderr
    );
    let now = server
        .cli(&["get", "team", "payments", "-o", "json"])
        .expect(OK)
        .json();
    assert_eq!(now["spec"]["displayName"], "Payments Team");
    assert_eq!(now["metadata"]["revision"], read_revision + 1);
}

#[test]
fn diff_shows_field_changes_and_changes_nothing() {
    let server = Server::start();
    apply_examples(&server);
    let before = server
        .cli(&["get", "team", "payments", "-o", "json"])
        .expect(OK)
        .json();
    let changed = std::fs::read_to_string(examples_dir().join("teams.yaml"))
        .expect("examples/teams.yaml")
        .replace("displayName: Payments", "displayName: Payments Team");
    let file = write_file(server.root.path(), "teams.yaml", &changed);
    let diff = server.cli(&["diff", "-f", path_str(&file)]).expect(OK);
    assert!(
        diff.stdout
            .contains(r#"spec.displayName: "Payments" → "Payments Team""#),
        "{}",
        diff.stdout
    );
    assert!(
        diff.stdout
            .contains("~ Team payments would be updated to revision 2"),
        "{}",
        diff.stdout
    );
    assert!(
        diff.stdout.contains("1 of 4 documents would change"),
        "{}",
        diff.stdout
    );

    let after = server
        .cli(&["get", "team", "payments", "-o", "json"])
        .expect(OK)
        .json();
    assert_eq!(
        after["metadata"]["revision"],
        before["metadata"]["revision"]
    );
    assert_eq!(after["spec"]["displayName"], "Payments");
}

#[test]
fn delete_refuses_referenced_resources_and_reports_missing_ones() {
    let server = Server::start();
    apply_examples(&server);
    let refused = server.cli(&["delete", "team", "payments"]).expect(CONFLICT);
    for wanted in [
        "still referred to",
        "Service ledger",
        "Service payments-api",
    ] {
        assert!(
            refused.stderr.contains(wanted),
            "{wanted:?} missing from {}",
            refused.stderr
        );
    }
    server.cli(&["get", "team", "payments"]).expect(OK);

    // Nothing depends on the checkout pages.
    let deleted = server.cli(&["delete", "svc", "checkout-web"]).expect(OK);
    assert!(
        deleted.stdout.contains("Service checkout-web deleted"),
        "{}",
        deleted.stdout
    );
    let again = server
        .cli(&["delete", "svc", "checkout-web"])
        .expect(NOT_FOUND);
    assert!(again.stderr.contains("does not exist"), "{}", again.stderr);
    server
        .cli(&["get", "svc", "checkout-web"])
        .expect(NOT_FOUND);
}

/// Every CLI run of [`identity_walkthrough`], and alice's token.
struct Walkthrough {
    runs: Vec<Run>,
    alice_token: String,
}

/// A second user, a token for her shown once, what she may and may not do, and revocation.
fn identity_walkthrough(server: &Server) -> Walkthrough {
    let mut runs = Vec::new();
    let teams = examples_dir().join("teams.yaml");
    runs.push(server.cli(&["apply", "-f", path_str(&teams)]).expect(OK));
    runs.push(
        server
            .cli(&[
                "user", "create", "alice", "--team", "payments", "--role", "viewer",
            ])
            .expect(OK),
    );

    let created = server
        .cli(&["token", "create", "--user", "alice", "--expires", "1d"])
        .expect(OK);
    let alice_token = created.stdout.trim().to_string();
    assert!(alice_token.starts_with("slw_"), "{}", created.stdout);
    assert_eq!(created.stdout.lines().count(), 1, "{}", created.stdout);
    assert!(
        !created.stderr.contains(&alice_token),
        "the token is printed twice: {}",
        created.stderr
    );
    assert!(
        created.stderr.contains("shown only this once"),
        "{}",
        created.stderr
    );
    runs.push(created);

    let me = server.cli_as(&alice_token, &["whoami"]).expect(OK);
    assert!(
        me.stdout.starts_with("alice (teams: payments"),
        "{}",
        me.stdout
    );
    runs.push(me);

    let services = examples_dir().join("services.yaml");
    let refused = server
        .cli_as(&alice_token, &["apply", "-f", path_str(&services)])
        .expect(DENIED);
    assert!(refused.stderr.contains("alice"), "{}", refused.stderr);
    runs.push(refused);
    runs.push(server.cli_as(&alice_token, &["get", "teams"]).expect(OK));

    let listed = server
        .cli(&["token", "list", "--user", "alice", "-o", "json"])
        .expect(OK);
    let secret = alice_token.rsplit('_').next().expect("slw_ID_SECRET");
    assert!(!listed.stdout.contains(secret), "{}", listed.stdout);
    let tokens = listed.json();
    let tokens = tokens.as_array().expect("a list of tokens");
    assert_eq!(tokens.len(), 1, "{}", listed.stdout);
    let id = tokens[0]["id"].as_str().expect("a token id").to_string();
    assert!(alice_token.starts_with(&format!("slw_{id}_")));
    runs.push(listed);
    let table = server.cli(&["token", "list"]).expect(OK);
    assert!(!table.stdout.contains(secret), "{}", table.stdout);
    runs.push(table);

    runs.push(server.cli(&["token", "revoke", &id]).expect(OK));
    let revoked = server.cli_as(&alice_token, &["whoami"]).expect(DENIED);
    assert!(
        revoked.stderr.contains("invalid, expired or revoked"),
        "{}",
        revoked.stderr
    );
    runs.push(revoked);

    runs.push(server.cli_as("garbage", &["whoami"]).expect(DENIED));
    let forged = format!("slw_{id}_{}", "0".repeat(64));
    runs.push(server.cli_as(&forged, &["whoami"]).expect(DENIED));
    Walkthrough { runs, alice_token }
}

#[test]
fn identity_tokens_access_and_revocation() {
    let server = Server::start();
    identity_walkthrough(&server);
}

#[test]
fn secrets_stay_out_of_outputs_logs_and_the_audit_log() {
    // Debug logging: the most a server ever writes.
    let mut server = Server::start_with(None, "debug");
    let walkthrough = identity_walkthrough(&server);
    let admin = server.admin_token.clone();
    let alice = walkthrough.alice_token.clone();
    let secret_of = |token: &str| token.rsplit('_').next().expect("slw_ID_SECRET").to_string();
    let secrets = [
        admin.clone(),
        secret_of(&admin),
        alice.clone(),
        secret_of(&alice),
    ];

    for run in &walkthrough.runs {
        assert!(
            !run.stdout.contains(&admin) && !run.stderr.contains(&admin),
            "`{}` printed the admin token",
            run.command
        );
        if !run.command.starts_with("slipway token create") {
            for secret in &secrets {
                assert!(
                    !run.stdout.contains(secret) && !run.stderr.contains(secret),
                    "`{}` printed a token secret",
                    run.command
                );
            }
        }
    }
    let entries = server
        .cli(&["audit", "entries", "--limit", "10000", "-o", "json"])
        .expect(OK);
    assert!(entries.json().as_array().is_some_and(|e| e.len() > 10));
    server.stop();
    let log = server.log();
    assert!(log.contains("slipway server listening"), "{log}");
    for secret in &secrets {
        assert!(
            !entries.stdout.contains(secret),
            "a token secret is in the audit log"
        );
        for line in log.lines() {
            assert!(
                !line.contains(secret),
                "a token secret is in the server log: {line}"
            );
        }
    }
}

/// Applies the examples, lists the audit log, stops the server gracefully and checks that its
/// data dir verifies, with a final checkpoint covering every entry. Returns the log's entries.
fn stop_with_verified_log(server: &mut Server) -> Vec<Value> {
    apply_examples(server);
    let listed = server
        .cli(&["audit", "entries", "--limit", "10000", "-o", "json"])
        .expect(OK)
        .json();
    let log = listed.as_array().expect("a list of entries").clone();
    assert!(log.len() > EXAMPLE_DOCUMENTS, "{listed}");
    server.stop();
    let report = server.verify_data_dir(&["-o", "json"]).expect(OK).json();
    assert_eq!(
        report["entries"].as_u64(),
        Some(log.len() as u64),
        "{report}"
    );
    assert_eq!(report["problems"], serde_json::json!([]), "{report}");
    // The graceful shutdown signed a final checkpoint covering every entry.
    assert_eq!(report["latest_checkpoint"], report["entries"], "{report}");
    server.verify_data_dir(&[]).expect(OK);
    log
}

#[test]
fn audit_verify_names_a_rewritten_entry() {
    let mut server = Server::start();
    stop_with_verified_log(&mut server);
    execute_sql(
        &server.database_url(),
        "UPDATE audit_entries SET actor = 'mallory' WHERE seq = 5",
    );
    let failed = server.verify_data_dir(&[]).expect(VERIFY_FAILED);
    assert!(
        failed
            .stderr
            .contains("audit verification failed: entry #5:"),
        "{}",
        failed.stderr
    );
    assert!(failed.stderr.contains("was modified"), "{}", failed.stderr);
}

#[test]
fn audit_verify_names_where_a_truncated_log_ends() {
    let mut server = Server::start();
    let entries = stop_with_verified_log(&mut server).len();
    execute_sql(
        &server.database_url(),
        "DELETE FROM audit_entries WHERE seq >= (SELECT MAX(seq) - 1 FROM audit_entries)",
    );
    let failed = server.verify_data_dir(&[]).expect(VERIFY_FAILED);
    let first_missing = entries - 2;
    assert!(
        failed.stderr.contains(&format!(
            "audit verification failed: entry #{first_missing}:"
        )),
        "{}",
        failed.stderr
    );
    assert!(failed.stderr.contains("truncated"), "{}", failed.stderr);
}

#[test]
fn audit_verify_finds_state_changed_behind_slipways_back() {
    let mut server = Server::start();
    let log = stop_with_verified_log(&mut server);
    let ledger = log
        .iter()
        .rev()
        .find(|e| e["kind"] == "Service" && e["name"] == "ledger")
        .and_then(|e| e["seq"].as_u64())
        .expect("the ledger's audit entry");
    execute_sql(
        &server.database_url(),
        "UPDATE resources SET content = replace(content, 'double-entry ledger of every payment', 'nothing to see here') \
         WHERE kind = 'Service' AND name = 'ledger'",
    );
    let failed = server.verify_data_dir(&[]).expect(VERIFY_FAILED);
    assert!(
        failed
            .stderr
            .contains(&format!("entry #{ledger}: Service ledger in the store")),
        "{}",
        failed.stderr
    );
    assert!(
        failed.stderr.contains("behind Slipway's back"),
        "{}",
        failed.stderr
    );
}

/// Flips one byte of `text` at `at` to another character of the same class (hex stays hex),
/// keeping it valid JSON.
fn flip_byte(text: &str, at: usize) -> String {
    let mut bytes = text.as_bytes().to_vec();
    bytes[at] = match bytes[at] {
        // Stepping down from the last hex digit or letter keeps hex hex and letters letters.
        b @ (b'9' | b'f' | b'F' | b'z' | b'Z') => b - 1,
        b if b.is_ascii_alphanumeric() => b + 1,
        other => panic!("will not flip {:?}", other as char),
    };
    String::from_utf8(bytes).expect("still UTF-8")
}

/// The position of the first character of the string value after `key` at or after `from`.
fn value_position(text: &str, from: usize, key: &str) -> usize {
    let needle = format!("\"{key}\": \"");
    from + text[from..]
        .find(&needle)
        .unwrap_or_else(|| panic!("no {needle} after byte {from}"))
        + needle.len()
}

#[test]
fn offline_audit_documents_verify_and_reveal_tampering() {
    let server = Server::start();
    apply_examples(&server);
    let export = server.file("export.json");
    let proof = server.file("proof.json");
    let consistency = server.file("consistency.json");
    let exported = server
        .cli(&["audit", "export", "--out", path_str(&export)])
        .expect(OK);
    assert!(exported.stdout.starts_with("wrote "), "{}", exported.stdout);
    server
        .cli(&["audit", "proof", "--entry", "3", "--out", path_str(&proof)])
        .expect(OK);

    server.cli(&["audit", "checkpoint"]).expect(OK);
    let more = write_file(server.root.path(), "more.yaml", TEAM_T1);
    server.cli(&["apply", "-f", path_str(&more)]).expect(OK);
    server.cli(&["audit", "checkpoint"]).expect(OK);
    let checkpoints = server
        .cli(&["audit", "checkpoints", "-o", "json"])
        .expect(OK)
        .json();
    let sizes: Vec<u64> = checkpoints
        .as_array()
        .expect("a list of checkpoints")
        .iter()
        .map(|c| c["size"].as_u64().expect("a size"))
        .collect();
    assert!(sizes.len() >= 3, "init, then two more: {sizes:?}");
    let (older, newer) = (sizes[sizes.len() - 2], sizes[sizes.len() - 1]);
    assert_eq!(newer, older + 1, "{sizes:?}");
    server
        .cli(&[
            "audit",
            "consistency",
            "--from",
            &older.to_string(),
            "--out",
            path_str(&consistency),
        ])
        .expect(OK);

    let public_key = server.data_dir.join("audit-signing.pub");
    for document in [&export, &proof, &consistency] {
        let verified = server
            .cli(&["audit", "verify", "--export", path_str(document)])
            .expect(OK);
        assert!(
            verified.stdout.starts_with("verified: "),
            "{}",
            verified.stdout
        );
        server
            .cli(&[
                "audit",
                "verify",
                "--export",
                path_str(document),
                "--public-key",
                path_str(&public_key),
            ])
            .expect(OK);
    }

    // One byte of entry #4's actor in the export.
    let text = std::fs::read_to_string(&export).expect("the export");
    let entry = text.find("\"seq\": 4,").expect("entry #4 in the export");
    let tampered = server.file("export-tampered.json");
    std::fs::write(
        &tampered,
        flip_byte(&text, value_position(&text, entry, "actor")),
    )
    .expect("write");
    let failed = server
        .cli(&["audit", "verify", "--export", path_str(&tampered)])
        .expect(VERIFY_FAILED);
    assert!(failed.stderr.contains("entry #4"), "{}", failed.stderr);

    // One byte of the inclusion proof's first hash.
    let text = std::fs::read_to_string(&proof).expect("the proof");
    let path = text.find("\"proof\": [").expect("the proof's hashes");
    let first_hash = path + text[path..].find("\n    \"").expect("a hash") + "\n    \"".len();
    let tampered = server.file("proof-tampered.json");
    std::fs::write(&tampered, flip_byte(&text, first_hash)).expect("write");
    let failed = server
        .cli(&[
            "audit",
            "verify",
            "--export",
            path_str(&tampered),
            "--public-key",
            path_str(&public_key),
        ])
        .expect(VERIFY_FAILED);
    assert!(
        failed
            .stderr
            .contains("entry #3: the inclusion proof does not lead to the checkpoint's root"),
        "{}",
        failed.stderr
    );

    // And one of the consistency proof's.
    let text = std::fs::read_to_string(&consistency).expect("the consistency proof");
    let path = text.find("\"proof\": [").expect("the proof's hashes");
    let first_hash = path + text[path..].find("\n    \"").expect("a hash") + "\n    \"".len();
    let tampered = server.file("consistency-tampered.json");
    std::fs::write(&tampered, flip_byte(&text, first_hash)).expect("write");
    let failed = server
        .cli(&["audit", "verify", "--export", path_str(&tampered)])
        .expect(VERIFY_FAILED);
    assert!(
        failed.stderr.contains("is not an extension"),
        "{}",
        failed.stderr
    );
}

#[test]
fn postgres_store_serves_and_verifies() {
    let url = fresh_postgres_database("serves_and_verifies");
    let mut server = Server::start_postgres(url);
    apply_examples(&server);
    let services = server.cli(&["get", "services", "-o", "json"]).expect(OK);
    assert_eq!(names(&services.json()).len(), 4, "{}", services.stdout);
    server.stop();
    assert!(
        !server.data_dir.join("slipway.db").exists(),
        "a PostgreSQL data dir must not grow a SQLite file"
    );
    let report = server.verify_data_dir(&["-o", "json"]).expect(OK).json();
    assert_eq!(report["latest_checkpoint"], report["entries"], "{report}");
    execute_sql(
        &server.database_url(),
        "UPDATE audit_entries SET actor = 'mallory' WHERE seq = 5",
    );
    let failed = server.verify_data_dir(&[]).expect(VERIFY_FAILED);
    assert!(
        failed
            .stderr
            .contains("audit verification failed: entry #5:"),
        "{}",
        failed.stderr
    );
}

#[test]
fn http_edges_openapi_errors_and_metrics() {
    let server = Server::start();
    let openapi = server.http_get("/api/v1/openapi.json", None);
    assert_eq!(openapi.status, 200);
    let document: Value = serde_json::from_str(&openapi.body).expect("OpenAPI JSON");
    assert!(
        document["paths"].get("/api/v1/apply").is_some(),
        "{}",
        openapi.body
    );

    let refused = server.http_get("/api/v1/services", None);
    assert_eq!(refused.status, 401, "{}", refused.body);
    let body: Value = serde_json::from_str(&refused.body).expect("an error body");
    assert_eq!(body["code"], "unauthenticated", "{}", refused.body);
    assert!(body["message"].is_string(), "{}", refused.body);
    let request_id = refused
        .headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    assert!(
        !request_id.is_empty(),
        "no x-request-id: {:?}",
        refused.headers
    );

    let wrong = server.http_get("/api/v1/services", Some("slw_nope_nope"));
    assert_eq!(wrong.status, 401, "{}", wrong.body);

    let metrics = server.http_get("/metrics", Some(&server.admin_token));
    assert_eq!(metrics.status, 200, "{}", metrics.body);
    assert!(
        metrics.body.contains("slipway_http_requests_total"),
        "{}",
        metrics.body
    );
    assert_eq!(server.http_get("/metrics", None).status, 401);
}

#[test]
fn demo_ci_ends_with_a_json_summary() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let demo = slipway(&dir.path().join("config.json"), &[], &["demo", "--ci"]).expect(OK);
    let last = demo
        .stdout
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .expect("the demo printed something");
    let summary: Value = serde_json::from_str(last)
        .unwrap_or_else(|e| panic!("the last line is not JSON ({e}): {last}"));
    assert_eq!(summary["ok"], true, "{summary}");
    assert!(!dir.path().join("config.json").exists());
}

#[test]
fn tokens_of_a_deleted_user_do_not_return_with_the_name() {
    let server = Server::start();
    let teams = examples_dir().join("teams.yaml");
    server.cli(&["apply", "-f", path_str(&teams)]).expect(OK);
    server
        .cli(&["user", "create", "carol", "--team", "payments"])
        .expect(OK);
    let old = server
        .cli(&["token", "create", "--user", "carol"])
        .expect(OK)
        .stdout
        .trim()
        .to_string();
    server.cli_as(&old, &["whoami"]).expect(OK);
    server.cli(&["delete", "user", "carol"]).expect(OK);
    server.cli_as(&old, &["whoami"]).expect(DENIED);
    // Someone else gets the name later: the first carol's token must stay dead.
    std::thread::sleep(Duration::from_millis(5));
    server
        .cli(&["user", "create", "carol", "--team", "platform"])
        .expect(OK);
    server.cli_as(&old, &["whoami"]).expect(DENIED);
    let new = server
        .cli(&["token", "create", "--user", "carol"])
        .expect(OK)
        .stdout
        .trim()
        .to_string();
    let me = server.cli_as(&new, &["whoami"]).expect(OK);
    assert!(me.stdout.contains("platform"), "{}", me.stdout);
}

impl Server {
    /// Kills the server with SIGKILL (no graceful shutdown: its children are orphaned) and
    /// starts it again on the same data dir and address.
    fn kill_and_restart(&mut self) {
        if let Some(mut child) = self.child.take() {
            signal(child.id(), "KILL");
            let _ = child.wait();
        }
        let listen = self.url.trim_start_matches("http://").to_string();
        let log = File::create(self.root.path().join("server-restarted.log")).unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_slipway"))
            .args([
                "server",
                "--data-dir",
                path_str(&self.data_dir),
                "--listen",
                &listen,
            ])
            .args(["--checkpoint-interval", "1h"])
            .env("SLIPWAY_CONFIG", self.config_path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .spawn()
            .unwrap();
        wait_until_healthy(&mut child, &self.url).unwrap();
        self.child = Some(child);
    }

    /// Polls a release (or rollout) until it ends; returns its status.
    fn wait_for_end(&self, kind: &str, name: &str) -> Value {
        self.wait_for(kind, name, &["Promoted", "RolledBack", "Failed"])
    }

    /// Polls a rollout (which may not be written yet) until its canary weight is `weight`
    /// percent.
    fn wait_for_weight(&self, name: &str, weight: u64) {
        let deadline = Instant::now() + Duration::from_secs(30);
        let weight_now = || {
            let run = self.cli(&["get", "rollout", name, "-o", "json"]);
            if run.code == NOT_FOUND {
                return Value::Null;
            }
            run.expect(OK).json()["status"]["weight"].clone()
        };
        while weight_now() != weight {
            assert!(Instant::now() < deadline, "{name} never reached {weight}%");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Polls a rollout until its status phase is one of `phases`; returns the status.
    fn wait_for_phase(&self, name: &str, phases: &[&str]) -> Value {
        self.wait_for("rollout", name, phases)
    }

    fn wait_for(&self, kind: &str, name: &str, phases: &[&str]) -> Value {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let r = self
                .cli(&["get", kind, name, "-o", "json"])
                .expect(OK)
                .json();
            let status = r["status"].clone();
            if phases.iter().any(|p| status["phase"] == *p) {
                return status;
            }
            assert!(Instant::now() < deadline, "{kind} {name} stuck: {status}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// Three builds of payments-api (the slipway binary's example service); 3.0.0 fails 30%.
fn release_documents(dir: &Path) -> PathBuf {
    let artifact = |v: &str, env: &str| {
        format!(
            "apiVersion: slipway.dev/v1alpha1\nkind: Artifact\nmetadata: {{name: payments-api-{}}}\nspec: {{service: payments-api, version: \"{v}\", location: \"{{program}}\", args: [example-service], env: {{{env}}}}}\n",
            v.replace('.', "-")
        )
    };
    let docs = [
        artifact("1.0.0", ""),
        artifact("2.0.0", ""),
        artifact("3.0.0", "EXAMPLE_ERROR_RATE: \"0.3\""),
    ]
    .join("---\n");
    write_file(dir, "artifacts.yaml", &docs)
}

/// Adds a payments-api build `version` whose example service gets `env` (YAML flow mapping body).
fn add_build(server: &Server, dir: &Path, version: &str, env: &str) {
    let document = format!(
        "apiVersion: slipway.dev/v1alpha1\nkind: Artifact\nmetadata: {{name: payments-api-{}}}\nspec: {{service: payments-api, version: \"{version}\", location: \"{{program}}\", args: [example-service], env: {{{env}}}}}\n",
        version.replace('.', "-")
    );
    let file = write_file(dir, &format!("build-{version}.yaml"), &document);
    server.cli(&["apply", "-f", path_str(&file)]).expect(OK);
}

/// A rollout's or release's history lines.
fn history(status: &Value) -> Vec<String> {
    status["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["what"].as_str().unwrap().to_string())
        .collect()
}

/// The example production environment requires a change request: a standard (pre-approved)
/// change `chg-tests` covering every example service in both environments, submitted and in
/// Implement, which the tests' rollouts and releases name.
fn open_standard_change(server: &Server) {
    let now = jiff::Timestamp::now();
    let document = format!(
        "apiVersion: slipway.dev/v1alpha1\nkind: ChangeRequest\nmetadata: {{name: chg-tests}}\nspec:\n  type: standard\n  title: test deployments\n  requester: admin\n  services: [auth-api, ledger, payments-api, checkout-web]\n  environments: [staging, production]\n  implementationPlan: roll out\n  backoutPlan: roll back\n  plannedStart: \"{}\"\n  plannedEnd: \"{}\"\n",
        now - jiff::SignedDuration::from_mins(1),
        now + jiff::SignedDuration::from_hours(4)
    );
    let file = write_file(server.root.path(), "chg-tests.yaml", &document);
    server
        .cli(&["change", "create", "-f", path_str(&file)])
        .expect(OK);
    server.cli(&["change", "submit", "chg-tests"]).expect(OK);
    server.cli(&["change", "implement", "chg-tests"]).expect(OK);
}

/// A server with the examples, the payments-api builds, and 1.0.0 serving on a fresh listener.
fn with_v1_serving() -> (Server, PathBuf, String) {
    let server = Server::start();
    apply_examples(&server);
    open_standard_change(&server);
    let dir = server.root.path().join("release");
    std::fs::create_dir_all(&dir).unwrap();
    let listen = loopback_address();
    server
        .cli(&["apply", "-f", path_str(&release_documents(&dir))])
        .expect(OK);
    let status = roll(&server, &dir, "v1", "1.0.0", &listen, "{direct: {}}");
    assert_eq!(status["phase"], "Promoted", "{status}");
    (server, dir, listen)
}

/// Applies a rollout of payments-api `version` and waits until it ends; returns its status.
fn roll(
    server: &Server,
    dir: &Path,
    name: &str,
    version: &str,
    listen: &str,
    strategy: &str,
) -> Value {
    let file = write_file(
        dir,
        &format!("{name}.yaml"),
        &rollout_document(name, version, listen, strategy),
    );
    server.cli(&["apply", "-f", path_str(&file)]).expect(OK);
    server.wait_for_phase(name, &["Promoted", "RolledBack", "Failed"])
}

fn rollout_document(name: &str, version: &str, listen: &str, strategy: &str) -> String {
    format!(
        "apiVersion: slipway.dev/v1alpha1\nkind: Rollout\nmetadata: {{name: {name}}}\nspec:\n  service: payments-api\n  environment: production\n  artifact: payments-api-{}\n  instances: 2\n  listen: \"{listen}\"\n  strategy: {strategy}\n  guardrails: [\"error_rate > 5% for 200ms\"]\n  change: chg-tests\n",
        version.replace('.', "-")
    )
}

/// Sends requests to `url` until `stop` is set; returns (requests, responses by body).
fn background_load(
    url: String,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> std::thread::JoinHandle<Vec<String>> {
    std::thread::spawn(move || {
        let client = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()
            .unwrap();
        let mut seen = Vec::new();
        while !stop.load(std::sync::atomic::Ordering::Relaxed) {
            let answer = match client.get(&url).send() {
                Ok(r) => format!(
                    "{} {}",
                    r.status().as_u16(),
                    r.text().unwrap_or_default().trim()
                ),
                Err(e) => format!("error {e}"),
            };
            seen.push(answer);
            std::thread::sleep(Duration::from_millis(5));
        }
        seen
    })
}

fn loopback_address() -> String {
    format!("127.0.0.1:{}", free_port())
}

#[test]
fn canary_promotes_and_a_failing_canary_rolls_back_by_itself() {
    let (server, dir, listen) = with_v1_serving();

    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let load = background_load(format!("http://{listen}/"), stop.clone());
    let canary = "{canary: {steps: [{weight: 30, pause: 1s}, {weight: 60, pause: 1s}]}}";
    let status = roll(&server, &dir, "v2", "2.0.0", &listen, canary);
    assert_eq!(status["phase"], "Promoted", "{status}");

    let status = roll(&server, &dir, "v3", "3.0.0", &listen, canary);
    std::thread::sleep(Duration::from_millis(300));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let seen = load.join().unwrap();

    assert_eq!(status["phase"], "RolledBack", "{status}");
    assert!(
        status["breach"]["rule"]
            .as_str()
            .unwrap()
            .starts_with("error_rate > 5.0%"),
        "{status}"
    );
    assert!(
        status["evidence"]["window"]["canary"]["errors"]
            .as_u64()
            .unwrap()
            > 0,
        "{status}"
    );
    let output = status["evidence"]["canaryOutput"].as_object().unwrap();
    assert_eq!(
        output.len(),
        2,
        "both canary instances' output is kept: {status}"
    );
    // Every request got an answer; the failures came only from 3.0.0 and stopped with the
    // rollback; after it, 2.0.0 serves everything.
    assert!(
        seen.iter().all(|s| !s.starts_with("error")),
        "{:?}",
        seen.iter().find(|s| s.starts_with("error"))
    );
    assert!(seen.iter().any(|s| s == "200 example-service 2.0.0"));
    let failures: Vec<&String> = seen.iter().filter(|s| s.starts_with("500")).collect();
    assert!(
        !failures.is_empty() && failures.iter().all(|s| s.contains("3.0.0")),
        "{failures:?}"
    );
    let tail = &seen[seen.len().saturating_sub(20)..];
    assert!(
        tail.iter().all(|s| s == "200 example-service 2.0.0"),
        "{tail:?}"
    );
    let after = reqwest::blocking::get(format!("http://{listen}/"))
        .unwrap()
        .text()
        .unwrap();
    assert_eq!(after.trim(), "example-service 2.0.0");
    // The rollout's history streams as server-sent events, ending with its phase.
    let events = server.http_get("/api/v1/rollouts/v3/events", Some(&server.admin_token));
    assert!(events.body.contains("event: step"), "{}", events.body);
    assert!(
        events
            .body
            .contains("event: end\ndata: {\"phase\":\"RolledBack\"}"),
        "{}",
        events.body
    );
    // The router's per-version counts are on /metrics.
    let metrics = server.http_get("/metrics", Some(&server.admin_token));
    assert!(
        metrics
            .body
            .lines()
            .any(|l| l.starts_with("slipway_router_requests_total")
                && l.contains("payments-api.production")),
        "{}",
        metrics.body
    );
}

#[test]
fn a_killed_server_restores_stable_and_rolls_back_the_rollout_in_flight() {
    let (mut server, dir, listen) = with_v1_serving();
    let slow = "{canary: {steps: [{weight: 50, pause: 60s}]}}";
    let v2 = write_file(
        &dir,
        "v2.yaml",
        &rollout_document("v2", "2.0.0", &listen, slow),
    );
    server.cli(&["apply", "-f", path_str(&v2)]).expect(OK);
    server.wait_for_weight("v2", 50);

    server.kill_and_restart();
    let status = server.wait_for_phase("v2", &["RolledBack", "Promoted", "Failed"]);
    assert_eq!(status["phase"], "RolledBack", "{status}");
    assert!(
        status["message"].as_str().unwrap().contains("restart"),
        "{status}"
    );
    // The last promoted version serves again, from fresh instances; the orphans of the killed
    // server were stopped, so only the restored instances answer.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(r) = reqwest::blocking::get(format!("http://{listen}/"))
            && r.text().unwrap_or_default().trim() == "example-service 1.0.0"
        {
            break;
        }
        assert!(Instant::now() < deadline, "1.0.0 was not restored");
        std::thread::sleep(Duration::from_millis(100));
    }
    for _ in 0..50 {
        let body = reqwest::blocking::get(format!("http://{listen}/"))
            .unwrap()
            .text()
            .unwrap();
        assert_eq!(body.trim(), "example-service 1.0.0");
    }
    // The killed server's canary instances (2.0.0) were stopped by the restarted one.
    let canary_dir = server.data_dir.join("work/payments-api/production/2.0.0");
    let survivors: Vec<String> = std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|p| std::fs::read_link(p.path().join("cwd")).ok())
        .filter(|cwd| cwd.starts_with(&canary_dir))
        .map(|cwd| cwd.display().to_string())
        .collect();
    assert!(
        survivors.is_empty(),
        "orphaned canary instances still run: {survivors:?}"
    );
    // No step runs twice: the history has one "canary weight 50%" and then the interruption.
    let history: Vec<String> = status["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["what"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        history
            .iter()
            .filter(|h| h.contains("canary weight 50%"))
            .count(),
        1,
        "{history:?}"
    );
    assert!(
        history.last().unwrap().contains("interrupted by a restart"),
        "{history:?}"
    );
}

#[test]
fn operators_promote_and_abort_rollouts_and_each_request_is_audited() {
    let (server, dir, listen) = with_v1_serving();
    let slow = "{canary: {steps: [{weight: 10, pause: 60s}, {weight: 50, pause: 60s}]}}";

    let v2 = write_file(
        &dir,
        "v2.yaml",
        &rollout_document("v2", "2.0.0", &listen, slow),
    );
    server.cli(&["apply", "-f", path_str(&v2)]).expect(OK);
    server.wait_for_weight("v2", 10);
    server.cli(&["rollout", "promote", "v2"]).expect(OK);
    let status = server.wait_for_phase("v2", &["Promoted", "RolledBack", "Failed"]);
    assert_eq!(status["phase"], "Promoted", "{status}");
    let shown = server.cli(&["rollout", "status", "v2"]).expect(OK);
    assert!(
        shown.stdout.contains("promotion requested by an operator"),
        "{}",
        shown.stdout
    );

    let v3 = write_file(
        &dir,
        "v3.yaml",
        &rollout_document("v3", "3.0.0", &listen, slow),
    );
    server.cli(&["apply", "-f", path_str(&v3)]).expect(OK);
    server.wait_for_weight("v3", 10);
    server.cli(&["rollout", "abort", "v3"]).expect(OK);
    let status = server.wait_for_phase("v3", &["Promoted", "RolledBack", "Failed"]);
    assert_eq!(status["phase"], "RolledBack", "{status}");
    assert_eq!(
        status["breach"]["rule"], "aborted by an operator",
        "{status}"
    );
    let body = reqwest::blocking::get(format!("http://{listen}/"))
        .unwrap()
        .text()
        .unwrap();
    assert_eq!(body.trim(), "example-service 2.0.0");
    // Steering an ended rollout is refused.
    server.cli(&["rollout", "abort", "v3"]).expect(CONFLICT);
    // Both requests are in the audit log, by the admin.
    let entries = server
        .cli(&["audit", "entries", "-o", "json", "--limit", "1000"])
        .expect(OK)
        .json();
    let steering: Vec<(String, String)> = entries
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "Rollout" && e["action"] == "update")
        .map(|e| {
            (
                e["name"].as_str().unwrap().to_string(),
                e["actor"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        steering,
        vec![
            ("v2".to_string(), "admin".to_string()),
            ("v3".to_string(), "admin".to_string())
        ]
    );
}

#[test]
fn blue_green_smoke_tests_switches_and_switches_back() {
    let (server, dir, listen) = with_v1_serving();
    let broken = "apiVersion: slipway.dev/v1alpha1\nkind: Artifact\nmetadata: {name: payments-api-9-0-0}\nspec: {service: payments-api, version: \"9.0.0\", location: \"{program}\", args: [example-service], env: {EXAMPLE_ERROR_RATE: \"1.0\"}}\n";
    let broken = write_file(&dir, "broken.yaml", broken);
    server.cli(&["apply", "-f", path_str(&broken)]).expect(OK);
    let v1 = write_file(
        &dir,
        "v1.yaml",
        &rollout_document("v1", "1.0.0", &listen, "{direct: {}}"),
    );
    server.cli(&["apply", "-f", path_str(&v1)]).expect(OK);
    server.wait_for_phase("v1", &["Promoted"]);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let load = background_load(format!("http://{listen}/"), stop.clone());
    let blue_green = "{blueGreen: {smokePath: /, rollbackWindow: 1500ms}}";

    // A build that fails its smoke test never gets unpinned traffic.
    let status = roll(&server, &dir, "v9", "9.0.0", &listen, blue_green);
    assert_eq!(status["phase"], "RolledBack", "{status}");
    assert!(
        status["message"]
            .as_str()
            .unwrap()
            .contains("smoke test / failed"),
        "{status}"
    );

    let status = roll(&server, &dir, "v2", "2.0.0", &listen, blue_green);
    assert_eq!(status["phase"], "Promoted", "{status}");

    let status = roll(
        &server,
        &dir,
        "v3",
        "3.0.0",
        &listen,
        "{blueGreen: {rollbackWindow: 10s}}",
    );
    std::thread::sleep(Duration::from_millis(200));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let seen = load.join().unwrap();
    assert_eq!(status["phase"], "RolledBack", "{status}");
    assert!(
        status["history"]
            .as_array()
            .unwrap()
            .iter()
            .any(|h| h["what"]
                .as_str()
                .unwrap()
                .starts_with("switched back to 2.0.0")),
        "{status}"
    );
    assert!(
        seen.iter().all(|s| !s.contains("9.0.0")),
        "the broken build got traffic"
    );
    let failures: Vec<&String> = seen.iter().filter(|s| !s.starts_with("200")).collect();
    assert!(failures.iter().all(|s| s.contains("3.0.0")), "{failures:?}");
    let tail = &seen[seen.len().saturating_sub(10)..];
    assert!(
        tail.iter().all(|s| s == "200 example-service 2.0.0"),
        "{tail:?}"
    );
}

#[test]
fn two_rollouts_to_one_environment_never_interleave() {
    let server = Server::start();
    apply_examples(&server);
    open_standard_change(&server);
    let dir = server.root.path().join("release");
    std::fs::create_dir_all(&dir).unwrap();
    let listen = loopback_address();
    server
        .cli(&["apply", "-f", path_str(&release_documents(&dir))])
        .expect(OK);
    // Both in one apply: the engine must run them one after the other.
    let canary = "{canary: {steps: [{weight: 50, pause: 1s}]}}";
    let both = [
        rollout_document("a2", "2.0.0", &listen, canary),
        rollout_document("b1", "1.0.0", &listen, canary),
    ]
    .join("---\n");
    let both = write_file(&dir, "both.yaml", &both);
    server.cli(&["apply", "-f", path_str(&both)]).expect(OK);
    let a = server.wait_for_phase("a2", &["Promoted", "RolledBack", "Failed"]);
    let b = server.wait_for_phase("b1", &["Promoted", "RolledBack", "Failed"]);
    assert_eq!(
        (a["phase"].as_str(), b["phase"].as_str()),
        (Some("Promoted"), Some("Promoted")),
        "{a} {b}"
    );
    let span = |s: &Value| {
        let h = s["history"].as_array().unwrap();
        (
            h.first().unwrap()["atMs"].as_u64().unwrap(),
            h.last().unwrap()["atMs"].as_u64().unwrap(),
        )
    };
    let ((a0, a1), (b0, b1)) = (span(&a), span(&b));
    assert!(
        a1 <= b0 || b1 <= a0,
        "the rollouts overlapped: a {a0}..{a1}, b {b0}..{b1}"
    );
}

/// The examples, the standard change, and every example service given an endpoint per
/// environment and a 2.0.0 build; returns the directory for release documents.
fn with_release_builds(server: &Server) -> PathBuf {
    apply_examples(server);
    open_standard_change(server);
    let dir = server.root.path().join("release");
    std::fs::create_dir_all(&dir).unwrap();
    // Give every example service an endpoint per environment, and a build.
    let services = ["auth-api", "ledger", "payments-api", "checkout-web"];
    let mut docs = Vec::new();
    for s in services {
        let current = server
            .cli(&["get", "service", s, "-o", "json"])
            .expect(OK)
            .json();
        let mut doc = current.clone();
        doc.as_object_mut().unwrap().remove("status");
        doc["spec"]["endpoints"] =
            serde_json::json!({"staging": loopback_address(), "production": loopback_address()});
        docs.push(serde_json::to_string(&doc).unwrap());
        docs.push(format!(
            "{{\"apiVersion\": \"slipway.dev/v1alpha1\", \"kind\": \"Artifact\", \"metadata\": {{\"name\": \"{s}-2\"}}, \"spec\": {{\"service\": \"{s}\", \"version\": \"2.0.0\", \"location\": \"{{program}}\", \"args\": [\"example-service\"]}}}}"
        ));
    }
    write_file(&dir, "services.json", &format!("[{}]", docs.join(",")));
    server
        .cli(&["apply", "-f", path_str(&dir.join("services.json"))])
        .expect(OK);
    dir
}

#[test]
fn a_release_deploys_stage_by_stage_in_dependency_waves() {
    let server = Server::start();
    let dir = with_release_builds(&server);
    let pipeline = "apiVersion: slipway.dev/v1alpha1\nkind: Pipeline\nmetadata: {name: standard}\nspec:\n  maxParallel: 2\n  stages:\n    - environment: staging\n      strategy: {direct: {}}\n      checks: [{http: {service: checkout-web, path: /healthz}}, {wait: \"{{ soak }}\"}]\n    - environment: production\n      strategy: {canary: {steps: [{weight: 50, pause: 300ms}]}}\n      instances: 2\n      guardrails: [\"error_rate > 5% for 200ms\"]\n      checks: [{wait: \"{{ soak }}\"}]\n  variables: {\"*\": {soak: 100ms}, production: {soak: 250ms}}\n---\napiVersion: slipway.dev/v1alpha1\nkind: Release\nmetadata: {name: r1}\nspec: {pipeline: standard, change: chg-tests, artifacts: [auth-api-2, ledger-2, payments-api-2, checkout-web-2]}\n";
    let pipeline = write_file(&dir, "pipeline.yaml", pipeline);
    server.cli(&["apply", "-f", path_str(&pipeline)]).expect(OK);
    let status = server.wait_for_end("release", "r1");
    assert_eq!(status["phase"], "Promoted", "{status}");
    assert_eq!(
        status["waves"],
        serde_json::json!([["auth-api", "ledger"], ["payments-api"], ["checkout-web"]])
    );
    assert_eq!(status["rollouts"].as_array().unwrap().len(), 8);
    // Stage fields were rendered with each environment's variables.
    let checks: Vec<String> = status["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["what"].as_str().unwrap().to_string())
        .collect();
    assert!(
        checks.contains(&"staging: check waited 100ms".to_string()),
        "{checks:?}"
    );
    assert!(
        checks.contains(&"production: check waited 250ms".to_string()),
        "{checks:?}"
    );
    // Dependency order held in every stage: a service started only after its dependencies
    // were promoted, and production started after staging was done.
    let span = |name: &str| {
        let s = server
            .cli(&["get", "rollout", name, "-o", "json"])
            .expect(OK)
            .json()["status"]
            .clone();
        assert_eq!(s["phase"], "Promoted", "{name}: {s}");
        let h = s["history"].as_array().unwrap().clone();
        (
            h.first().unwrap()["atMs"].as_u64().unwrap(),
            h.last().unwrap()["atMs"].as_u64().unwrap(),
        )
    };
    for env in ["staging", "production"] {
        let (_, auth_end) = span(&format!("r1-{env}-auth-api"));
        let (_, ledger_end) = span(&format!("r1-{env}-ledger"));
        let (pay_start, pay_end) = span(&format!("r1-{env}-payments-api"));
        let (web_start, _) = span(&format!("r1-{env}-checkout-web"));
        assert!(
            pay_start >= auth_end.max(ledger_end),
            "{env}: payments-api started before its dependencies"
        );
        assert!(
            web_start >= pay_end,
            "{env}: checkout-web started before payments-api"
        );
    }
    let (_, staging_web_end) = span("r1-staging-checkout-web");
    let (production_auth_start, _) = span("r1-production-auth-api");
    assert!(production_auth_start >= staging_web_end);
    assert!(
        history(&status).iter().any(|h| h.contains("check GET")),
        "{status}"
    );
    // Removing services goes the other way: dependants first.
    let teardown = "apiVersion: slipway.dev/v1alpha1\nkind: Pipeline\nmetadata: {name: teardown}\nspec:\n  stages:\n    - {environment: staging, strategy: {direct: {}}}\n    - {environment: production, strategy: {direct: {}}}\n---\napiVersion: slipway.dev/v1alpha1\nkind: Release\nmetadata: {name: r2}\nspec: {pipeline: teardown, change: chg-tests, remove: [payments-api, checkout-web]}\n";
    server
        .cli(&[
            "apply",
            "-f",
            path_str(&write_file(&dir, "teardown.yaml", teardown)),
        ])
        .expect(OK);
    let removal = server.wait_for_end("release", "r2");
    assert_eq!(removal["phase"], "Promoted", "{removal}");
    let removed: Vec<String> = history(&removal)
        .into_iter()
        .filter(|h| h.contains(": removed "))
        .collect();
    assert_eq!(
        removed,
        vec![
            "staging: removed checkout-web (2.0.0)",
            "staging: removed payments-api (2.0.0)",
            "production: removed checkout-web (2.0.0)",
            "production: removed payments-api (2.0.0)",
        ]
    );
    // Their rollouts say so, so a restarted server does not bring them back.
    let gone = server
        .cli(&["get", "rollout", "r1-production-checkout-web", "-o", "json"])
        .expect(OK)
        .json();
    assert_eq!(gone["status"]["phase"], "Removed", "{gone}");
    let kept = server
        .cli(&["get", "rollout", "r1-production-ledger", "-o", "json"])
        .expect(OK)
        .json();
    assert_eq!(kept["status"]["phase"], "Promoted", "{kept}");
}

#[test]
fn a_release_interrupted_by_a_killed_server_resumes_where_it_stopped() {
    let mut server = Server::start();
    let dir = with_release_builds(&server);
    // 2.0.0 everywhere first, so 3.0.0 goes out as canaries beside it.
    let first = "apiVersion: slipway.dev/v1alpha1\nkind: Pipeline\nmetadata: {name: quick}\nspec:\n  stages:\n    - {environment: staging, strategy: {direct: {}}}\n---\napiVersion: slipway.dev/v1alpha1\nkind: Release\nmetadata: {name: r0}\nspec: {pipeline: quick, change: chg-tests, artifacts: [auth-api-2, ledger-2, payments-api-2, checkout-web-2]}\n";
    let first = write_file(&dir, "quick.yaml", first);
    server.cli(&["apply", "-f", path_str(&first)]).expect(OK);
    assert_eq!(server.wait_for_end("release", "r0")["phase"], "Promoted");
    let builds: Vec<String> = ["auth-api", "ledger", "payments-api", "checkout-web"]
        .iter()
        .map(|s| format!("{{\"apiVersion\": \"slipway.dev/v1alpha1\", \"kind\": \"Artifact\", \"metadata\": {{\"name\": \"{s}-3\"}}, \"spec\": {{\"service\": \"{s}\", \"version\": \"3.0.0\", \"location\": \"{{program}}\", \"args\": [\"example-service\"]}}}}"))
        .collect();
    let builds = write_file(&dir, "builds-3.json", &format!("[{}]", builds.join(",")));
    server.cli(&["apply", "-f", path_str(&builds)]).expect(OK);
    let pipeline = "apiVersion: slipway.dev/v1alpha1\nkind: Pipeline\nmetadata: {name: slow}\nspec:\n  stages:\n    - environment: staging\n      strategy: {canary: {steps: [{weight: 50, pause: 2s}]}}\n      instances: 2\n---\napiVersion: slipway.dev/v1alpha1\nkind: Release\nmetadata: {name: r1}\nspec: {pipeline: slow, change: chg-tests, artifacts: [auth-api-3, ledger-3, payments-api-3, checkout-web-3]}\n";
    let pipeline = write_file(&dir, "slow.yaml", pipeline);
    server.cli(&["apply", "-f", path_str(&pipeline)]).expect(OK);
    // Killed while payments-api (the second wave) is half-way through its canary.
    server.wait_for_weight("r1-staging-payments-api", 50);
    server.kill_and_restart();

    let status = server.wait_for_end("release", "r1");
    assert_eq!(status["phase"], "Promoted", "{status}");
    let steps = history(&status);
    for expected in [
        "interrupted by a restart of the server: resuming",
        "resumed",
        "staging: auth-api was promoted before the restart",
        "staging: ledger was promoted before the restart",
    ] {
        assert!(steps.iter().any(|h| h == expected), "{expected}: {steps:?}");
    }
    let rollout = |name: &str| {
        server
            .cli(&["get", "rollout", name, "-o", "json"])
            .expect(OK)
            .json()["status"]
            .clone()
    };
    // What was promoted before the kill did not run again.
    for done in ["r1-staging-auth-api", "r1-staging-ledger"] {
        let s = rollout(done);
        assert_eq!(s["phase"], "Promoted", "{done}: {s}");
        let started = history(&s)
            .iter()
            .filter(|h| h.starts_with("started"))
            .count();
        assert_eq!(started, 1, "{done}: {s}");
    }
    // The interrupted canary was rolled back by the restarted server, then deployed again;
    // the wave after it ran once, after it.
    for rest in ["r1-staging-payments-api", "r1-staging-checkout-web"] {
        let s = rollout(rest);
        assert_eq!(s["phase"], "Promoted", "{rest}: {s}");
    }
    assert_eq!(
        steps
            .iter()
            .filter(|h| h.contains("deploying payments-api"))
            .count(),
        2,
        "{steps:?}"
    );
    assert_eq!(
        steps
            .iter()
            .filter(|h| h.contains("deploying checkout-web"))
            .count(),
        1,
        "{steps:?}"
    );
}

#[test]
fn a_canary_analysis_promotes_a_twin_and_rolls_back_a_slower_build_with_an_explanation() {
    let (server, dir, listen) = with_v1_serving();
    add_build(&server, &dir, "4.0.0", r#"EXAMPLE_LATENCY_MS: "40""#);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let load = background_load(format!("http://{listen}/"), stop.clone());
    let analysed = "{canary: {steps: [{weight: 50, pause: 3s, analysis: {interval: 200ms, metrics: [{name: latency, metric: p50_latency, critical: true, params: {confLevel: 0.99, effectSize: {allowedIncrease: 1.5, criticalIncrease: 3.0}}}]}}]}}";
    let status = roll(&server, &dir, "v2", "2.0.0", &listen, analysed);
    assert_eq!(status["phase"], "Promoted", "{status}");
    let status = roll(&server, &dir, "v4", "4.0.0", &listen, analysed);
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    load.join().unwrap();
    assert_eq!(status["phase"], "RolledBack", "{status}");
    assert_eq!(status["breach"]["rule"], "canary analysis", "{status}");
    let analysis = &status["analyses"][0];
    assert_eq!(analysis["result"]["verdict"], "Fail", "{analysis}");
    assert!(
        analysis["input"]["metrics"][0]["canary"]
            .as_array()
            .unwrap()
            .len()
            >= 5,
        "{analysis}"
    );
    let explained = server.cli(&["analysis", "explain", "v4"]).expect(OK);
    assert!(explained.stdout.contains("Fail"), "{}", explained.stdout);
    assert!(explained.stdout.contains("latency"), "{}", explained.stdout);
}

#[test]
fn rolling_replaces_instances_in_batches_and_brings_the_old_version_back_on_a_breach() {
    let (server, dir, listen) = with_v1_serving();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let load = background_load(format!("http://{listen}/"), stop.clone());
    let rolling = "{rolling: {batchSize: 1, pause: 700ms}}";
    let status = roll(&server, &dir, "v2", "2.0.0", &listen, rolling);
    assert_eq!(status["phase"], "Promoted", "{status}");
    let steps: Vec<String> = status["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["what"].as_str().unwrap().to_string())
        .collect();
    assert!(
        steps.contains(&"1 of 2 instances on 2.0.0".to_string()),
        "{steps:?}"
    );
    assert!(
        steps.contains(&"2 of 2 instances on 2.0.0".to_string()),
        "{steps:?}"
    );

    let status = roll(&server, &dir, "v3", "3.0.0", &listen, rolling);
    std::thread::sleep(Duration::from_millis(300));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let seen = load.join().unwrap();
    assert_eq!(status["phase"], "RolledBack", "{status}");
    assert!(
        seen.iter().all(|s| !s.starts_with("error")),
        "no request went unanswered"
    );
    let tail = &seen[seen.len().saturating_sub(20)..];
    assert!(
        tail.iter().all(|s| s == "200 example-service 2.0.0"),
        "{tail:?}"
    );
}

/// A real Prometheus (Debian's package) scraping the server's /metrics every second.
struct Prometheus {
    url: String,
    child: Child,
}

impl Prometheus {
    fn start(server: &Server) -> Prometheus {
        let dir = server.root.path().join("prometheus");
        std::fs::create_dir_all(&dir).unwrap();
        let token_file = write_file(&dir, "token", &server.admin_token);
        let target = server.url.trim_start_matches("http://");
        let config = format!(
            "global: {{scrape_interval: 1s, evaluation_interval: 1s}}\nscrape_configs:\n  - job_name: slipway\n    authorization: {{credentials_file: {}}}\n    static_configs: [{{targets: [\"{target}\"]}}]\n",
            token_file.display()
        );
        let config = write_file(&dir, "prometheus.yml", &config);
        let listen = loopback_address();
        let log = File::create(dir.join("prometheus.log")).unwrap();
        let mut child = Command::new("prometheus")
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("data").display()
            ))
            .arg(format!("--web.listen-address={listen}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .spawn()
            .expect("prometheus is installed (apt-get install prometheus; .ci/run does it)");
        let url = format!("http://{listen}");
        let deadline = Instant::now() + Duration::from_secs(30);
        while !http_get(&format!("{url}/-/ready"), None, Duration::from_secs(1))
            .is_ok_and(|r| r.status == 200)
        {
            if Instant::now() > deadline || child.try_wait().unwrap().is_some() {
                let log = std::fs::read_to_string(dir.join("prometheus.log")).unwrap_or_default();
                panic!("prometheus did not become ready:\n{log}");
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        Prometheus { url, child }
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        signal(self.child.id(), "TERM");
        let _ = wait_bounded(&mut self.child, Duration::from_secs(10));
    }
}

#[test]
fn a_canary_analysis_reads_prometheus_and_rolls_back_a_slower_build() {
    let (server, dir, listen) = with_v1_serving();
    let prometheus = Prometheus::start(&server);
    add_build(&server, &dir, "4.0.0", r#"EXAMPLE_LATENCY_MS: "40""#);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let load = background_load(format!("http://{listen}/"), stop.clone());
    let query = "1000 * histogram_quantile(0.5, sum by (le) (rate(slipway_router_request_duration_seconds_bucket{service=\\\"{routed}\\\",version=\\\"{version}\\\"}[3s])))";
    let strategy = format!(
        "{{canary: {{steps: [{{weight: 50, pause: 10s, analysis: {{interval: 1s, source: {{prometheus: {{url: \"{}\"}}}}, metrics: [{{name: latency, query: \"{query}\", critical: true, params: {{confLevel: 0.99, effectSize: {{allowedIncrease: 1.5, criticalIncrease: 3.0}}}}}}]}}}}]}}}}",
        prometheus.url
    );
    let status = roll(&server, &dir, "v4", "4.0.0", &listen, &strategy);
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    load.join().unwrap();
    assert_eq!(status["phase"], "RolledBack", "{status}");
    let analysis = &status["analyses"][0];
    assert!(
        analysis["source"]
            .as_str()
            .unwrap()
            .starts_with("prometheus"),
        "{analysis}"
    );
    assert_eq!(analysis["result"]["verdict"], "Fail", "{analysis}");
    let canary = analysis["input"]["metrics"][0]["canary"]
        .as_array()
        .unwrap();
    let baseline = analysis["input"]["metrics"][0]["baseline"]
        .as_array()
        .unwrap();
    assert!(canary.len() >= 4 && baseline.len() >= 4, "{analysis}");
    // The canary's median latency, as Prometheus computed it, is ~40 ms above stable's.
    let median = |v: &Vec<Value>| {
        let mut x: Vec<f64> = v.iter().map(|n| n.as_f64().unwrap()).collect();
        x.sort_by(|a, b| a.partial_cmp(b).unwrap());
        x[x.len() / 2]
    };
    assert!(median(canary) - median(baseline) > 20.0, "{analysis}");
}

#[test]
fn a_baseline_beside_the_canary_catches_a_bad_build_and_tells_an_environmental_failure_apart() {
    let (server, dir, listen) = with_v1_serving();
    let flaky = |v: &str| {
        format!(
            "apiVersion: slipway.dev/v1alpha1\nkind: Artifact\nmetadata: {{name: payments-api-{}}}\nspec: {{service: payments-api, version: \"{v}\", location: \"{{program}}\", args: [example-service], env: {{EXAMPLE_ERROR_RATE: \"0.3\"}}}}\n",
            v.replace('.', "-")
        )
    };
    let flaky = write_file(
        &dir,
        "flaky.yaml",
        &[flaky("6.0.0"), flaky("7.0.0")].join("---\n"),
    );
    server.cli(&["apply", "-f", path_str(&flaky)]).expect(OK);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let load = background_load(format!("http://{listen}/"), stop.clone());
    let beside = "{canary: {baseline: beside, steps: [{weight: 50, pause: 3s}]}}";

    // A bad build against a healthy baseline: rolled back, and the baseline is gone after.
    let status = roll(&server, &dir, "v3", "3.0.0", &listen, beside);
    assert_eq!(status["phase"], "RolledBack", "{status}");
    let steps: Vec<String> = status["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["what"].as_str().unwrap().to_string())
        .collect();
    assert!(
        steps
            .iter()
            .any(|s| s.contains("baseline instance(s) of 1.0.0 beside the canary")),
        "{steps:?}"
    );
    let baseline_dir = server
        .data_dir
        .join("work/payments-api/production/1.0.0/100");
    std::thread::sleep(Duration::from_millis(500));
    let alive: Vec<_> = std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|p| std::fs::read_link(p.path().join("cwd")).ok())
        .filter(|cwd| cwd.starts_with(&baseline_dir))
        .collect();
    assert!(
        alive.is_empty(),
        "baseline instances left running: {alive:?}"
    );

    // Both the stable version and the canary fail alike (think: a broken shared database).
    let status = roll(&server, &dir, "v6", "6.0.0", &listen, "{direct: {}}");
    assert_eq!(status["phase"], "Promoted", "{status}");
    let status = roll(&server, &dir, "v7", "7.0.0", &listen, beside);
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    load.join().unwrap();
    assert_eq!(
        status["phase"], "Promoted",
        "an environmental failure must not roll back: {status}"
    );
    assert!(
        !status["environmental"].as_array().unwrap().is_empty(),
        "{status}"
    );
    assert!(
        history(&status)
            .iter()
            .any(|h| h.starts_with("environmental:")),
        "{status}"
    );
}

#[test]
fn failing_health_checks_roll_back_and_command_checks_gate_stages() {
    let (server, dir, listen) = with_v1_serving();
    add_build(
        &server,
        &dir,
        "8.0.0",
        r#"EXAMPLE_UNHEALTHY_AFTER_SECS: "2""#,
    );
    // A command health check (python probing the instance's PORT) and the health guardrail.
    let probe = "python3 -c \"import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ['PORT'], timeout=1)\"";
    let document = format!(
        "{}  healthCheck: {{command: [sh, -c, \"{}\"]}}\n",
        rollout_document(
            "v8",
            "8.0.0",
            &listen,
            "{canary: {steps: [{weight: 20, pause: 6s}]}}"
        )
        .replace(
            "guardrails: [\"error_rate > 5% for 200ms\"]",
            "guardrails: [\"health_check_failures >= 3\"]"
        ),
        probe.replace('"', "\\\"")
    );
    let file = write_file(&dir, "v8.yaml", &document);
    server.cli(&["apply", "-f", path_str(&file)]).expect(OK);
    let status = server.wait_for_phase("v8", &["Promoted", "RolledBack", "Failed"]);
    assert_eq!(status["phase"], "RolledBack", "{status}");
    assert_eq!(
        status["breach"]["rule"], "health_check_failures >= 3",
        "{status}"
    );

    // Stage checks: a command that passes, a gate, and a command that fails and stops the release.
    let body = reqwest::blocking::get(format!("http://{listen}/"))
        .unwrap()
        .text()
        .unwrap();
    assert_eq!(body.trim(), "example-service 1.0.0");
    let current = server
        .cli(&["get", "service", "payments-api", "-o", "json"])
        .expect(OK)
        .json();
    let mut service = current.clone();
    service.as_object_mut().unwrap().remove("status");
    service["spec"]["endpoints"] = serde_json::json!({"production": listen});
    write_file(&dir, "service.json", &service.to_string());
    server
        .cli(&["apply", "-f", path_str(&dir.join("service.json"))])
        .expect(OK);
    let pipelines = "apiVersion: slipway.dev/v1alpha1\nkind: Pipeline\nmetadata: {name: checked}\nspec:\n  stages:\n    - environment: production\n      strategy: {direct: {}}\n      checks:\n        - {command: {argv: [sh, -c, \"test -n \\\"$SLIPWAY_ENDPOINT_PAYMENTS_API\\\"\"]}}\n        - {gate: cab}\n        - {command: {argv: [sh, -c, \"echo smoke test failed >&2; exit 3\"]}}\n---\napiVersion: slipway.dev/v1alpha1\nkind: Release\nmetadata: {name: checked}\nspec: {pipeline: checked, change: chg-tests, artifacts: [payments-api-2-0-0]}\n";
    server
        .cli(&[
            "apply",
            "-f",
            path_str(&write_file(&dir, "checked.yaml", pipelines)),
        ])
        .expect(OK);
    let status = server.wait_for_end("release", "checked");
    assert_eq!(status["phase"], "Failed", "{status}");
    let history: Vec<String> = status["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["what"].as_str().unwrap().to_string())
        .collect();
    assert!(history.iter().any(|h| h.contains("passed")), "{history:?}");
    assert!(
        history.iter().any(|h| h.contains("gate cab passed")),
        "{history:?}"
    );
    assert!(
        status["message"]
            .as_str()
            .unwrap()
            .contains("smoke test failed"),
        "{status}"
    );
}

#[test]
fn deleting_a_running_rollout_takes_its_canary_away() {
    let (server, dir, listen) = with_v1_serving();
    let slow = "{canary: {steps: [{weight: 50, pause: 60s}]}}";
    let file = write_file(
        &dir,
        "v2.yaml",
        &rollout_document("v2", "2.0.0", &listen, slow),
    );
    server.cli(&["apply", "-f", path_str(&file)]).expect(OK);
    server.wait_for_weight("v2", 50);
    server.cli(&["delete", "rollout", "v2"]).expect(OK);
    let canary_dir = server.data_dir.join("work/payments-api/production/2.0.0");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let alive = std::fs::read_dir("/proc")
            .unwrap()
            .flatten()
            .filter_map(|p| std::fs::read_link(p.path().join("cwd")).ok())
            .any(|cwd| cwd.starts_with(&canary_dir));
        if !alive {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the deleted rollout's canary still runs"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    for _ in 0..30 {
        let body = reqwest::blocking::get(format!("http://{listen}/"))
            .unwrap()
            .text()
            .unwrap();
        assert_eq!(body.trim(), "example-service 1.0.0");
    }
}

#[test]
fn a_new_spec_for_a_finished_rollout_runs_it_again() {
    let (server, dir, listen) = with_v1_serving();
    let status = roll(&server, &dir, "move", "2.0.0", &listen, "{direct: {}}");
    assert_eq!(status["phase"], "Promoted", "{status}");
    // Same rollout, a new spec (back to 1.0.0): it runs again.
    let status = roll(&server, &dir, "move", "1.0.0", &listen, "{direct: {}}");
    assert_eq!(
        (status["phase"].as_str(), status["version"].as_str()),
        (Some("Promoted"), Some("1.0.0")),
        "{status}"
    );
    let body = reqwest::blocking::get(format!("http://{listen}/"))
        .unwrap()
        .text()
        .unwrap();
    assert_eq!(body.trim(), "example-service 1.0.0");
    // Steering annotations or labels alone do not start a run.
    let mut doc = server
        .cli(&["get", "rollout", "move", "-o", "json"])
        .expect(OK)
        .json();
    doc.as_object_mut().unwrap().remove("status");
    doc["metadata"]["labels"] = serde_json::json!({"note": "relabelled"});
    write_file(&dir, "relabel.json", &doc.to_string());
    server
        .cli(&["apply", "-f", path_str(&dir.join("relabel.json"))])
        .expect(OK);
    std::thread::sleep(Duration::from_millis(500));
    let after = server
        .cli(&["get", "rollout", "move", "-o", "json"])
        .expect(OK)
        .json();
    assert_eq!(
        after["status"]["history"], status["history"],
        "a label change must not re-run the rollout"
    );
}

/// A second administrator (bob, team release-management) and his token: approvals need
/// someone other than the requester.
fn second_admin(server: &Server) -> String {
    server
        .cli(&[
            "user",
            "create",
            "bob",
            "--team",
            "release-management",
            "--role",
            "admin",
        ])
        .expect(OK);
    server
        .cli(&["token", "create", "--user", "bob", "--expires", "1d"])
        .expect(OK)
        .stdout
        .trim()
        .to_string()
}

/// A normal change to payments-api in production, planned from a minute ago for four hours.
fn normal_change(server: &Server, name: &str, backout: &str) -> PathBuf {
    let now = jiff::Timestamp::now();
    let document = format!(
        "apiVersion: slipway.dev/v1alpha1\nkind: ChangeRequest\nmetadata: {{name: {name}}}\nspec:\n  type: normal\n  title: payments-api 2.0.0\n  requester: admin\n  services: [payments-api]\n  environments: [production]\n  justification: new ledger client\n  implementationPlan: canary\n  backoutPlan: {backout}\n  testPlan: contract tests\n  plannedStart: \"{}\"\n  plannedEnd: \"{}\"\n",
        now - jiff::SignedDuration::from_mins(1),
        now + jiff::SignedDuration::from_hours(4)
    );
    write_file(server.root.path(), &format!("{name}.yaml"), &document)
}

#[test]
fn change_requests_enforce_separation_of_duties_and_void_approvals_on_edit() {
    let (server, dir, listen) = with_v1_serving();
    let bob = second_admin(&server);
    let file = normal_change(&server, "chg-2", "roll back to 1.0.0");
    server
        .cli(&["change", "create", "-f", path_str(&file)])
        .expect(OK);
    let submitted = server.cli(&["change", "submit", "chg-2"]).expect(OK);
    assert!(
        submitted.stdout.contains("state Assess"),
        "{}",
        submitted.stdout
    );

    // The requester cannot approve their own change.
    let own = server.cli(&["change", "approve", "chg-2"]).expect(DENIED);
    assert!(
        own.stderr.contains("separation of duties") && own.stderr.contains("admin requested"),
        "{}",
        own.stderr
    );
    // Bob's approval moves it through Assess and Authorize to Scheduled, then it is implemented.
    let approved = server
        .cli_as(&bob, &["change", "approve", "chg-2", "--comment", "ok"])
        .expect(OK);
    assert!(
        approved.stdout.contains("state Scheduled"),
        "{}",
        approved.stdout
    );
    let view = server
        .cli(&["change", "get", "chg-2", "-o", "json"])
        .expect(OK)
        .json();
    let authorised = view["record"]["authorisedDigest"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(view["contentDigest"], authorised.as_str());
    assert!(
        view["record"]["risk"]["factors"].as_array().unwrap().len() >= 5,
        "{view}"
    );

    // An edit after approval voids it: implement is refused and names the reason.
    let edited = normal_change(&server, "chg-2", "restore the database snapshot");
    server.cli(&["apply", "-f", path_str(&edited)]).expect(OK);
    let refused = server
        .cli(&["change", "implement", "chg-2"])
        .expect(CONFLICT);
    assert!(
        refused.stderr.contains("edited after it was authorised"),
        "{}",
        refused.stderr
    );
    // A rollout naming it waits at the gate, and the gate says why.
    let document = rollout_document("v2", "2.0.0", &listen, "{direct: {}}")
        .replace("change: chg-tests", "change: chg-2");
    let rollout = write_file(&dir, "v2-chg2.yaml", &document);
    server.cli(&["apply", "-f", path_str(&rollout)]).expect(OK);
    let status = server.wait_for_phase("v2", &["Pending"]);
    let message = status["message"].as_str().unwrap_or_default().to_string();
    assert!(message.contains("waiting at the gate"), "{status}");
    let explained = server.cli(&["gate", "explain", "v2"]).expect(OK);
    assert!(
        explained.stdout.contains("✗ change-authorised")
            && explained.stdout.contains("edited after it was authorised"),
        "{}",
        explained.stdout
    );
    // Clients cannot forge gate decisions or change events.
    let forged = write_file(
        &dir,
        "forged.yaml",
        "apiVersion: slipway.dev/v1alpha1\nkind: ChangeEvent\nmetadata: {name: forged}\nspec: {change: chg-2, sequence: 9, action: approve, actor: carol, at: \"2026-01-01T00:00:00Z\", contentDigest: x, fromState: Authorize, toState: Scheduled}\n",
    );
    let refused = server
        .cli(&["apply", "-f", path_str(&forged)])
        .expect(DENIED);
    assert!(
        refused.stderr.contains("written by the server"),
        "{}",
        refused.stderr
    );

    // Re-approved on the new content, implemented: the waiting rollout goes ahead by itself.
    server.cli(&["change", "submit", "chg-2"]).expect(CONFLICT);
    server
        .cli_as(&bob, &["change", "approve", "chg-2"])
        .expect(OK);
    server.cli(&["change", "implement", "chg-2"]).expect(OK);
    let status = server.wait_for_phase("v2", &["Promoted", "RolledBack", "Failed"]);
    assert_eq!(status["phase"], "Promoted", "{status}");
    let explained = server
        .cli(&["gate", "explain", "v2", "-o", "json"])
        .expect(OK)
        .json();
    let verdicts: Vec<&str> = explained["decisions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["decision"]["verdict"].as_str().unwrap())
        .collect();
    assert_eq!(verdicts.first(), Some(&"wait"), "{explained}");
    assert_eq!(verdicts.last(), Some(&"allow"), "{explained}");

    // Every action and decision is in the audit log.
    let export = server.file("export.json");
    server
        .cli(&["audit", "export", "--out", path_str(&export)])
        .expect(OK);
    let entries = std::fs::read_to_string(&export).unwrap();
    assert!(entries.contains("ChangeEvent") && entries.contains("GateDecision"));

    // The evidence pack verifies offline, and a forged approver is caught.
    let pack = server.file("chg-2-evidence.json");
    server
        .cli(&["change", "evidence", "chg-2", "--out", path_str(&pack)])
        .expect(OK);
    let verified = server
        .cli(&["evidence", "verify", path_str(&pack)])
        .expect(OK);
    assert!(verified.stdout.contains("verified"), "{}", verified.stdout);
    let text = std::fs::read_to_string(&pack).unwrap();
    let document: Value = serde_json::from_str(&text).unwrap();
    let roles: Vec<&str> = document["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["role"].as_str().unwrap())
        .collect();
    for role in ["change", "event", "gate-decision", "deployment"] {
        assert!(roles.contains(&role), "{role} missing from {roles:?}");
    }
    assert!(
        text.contains("\"actor\":\"bob\""),
        "approvals carry the approver"
    );
    let forged = server.file("forged-evidence.json");
    std::fs::write(
        &forged,
        text.replace("\"actor\":\"bob\"", "\"actor\":\"eve\""),
    )
    .unwrap();
    let refused = server
        .cli(&["evidence", "verify", path_str(&forged)])
        .expect(VERIFY_FAILED);
    assert!(refused.stderr.contains("digest"), "{}", refused.stderr);
}

#[test]
fn a_freeze_holds_every_path_until_an_exception_and_break_glass_leaves_a_review_due() {
    let (server, dir, listen) = with_v1_serving();
    let now = jiff::Timestamp::now();
    let freeze = format!(
        "apiVersion: slipway.dev/v1alpha1\nkind: Calendar\nmetadata: {{name: quarter-end}}\nspec:\n  scope: {{environment: production}}\n  freezes:\n    - {{name: quarter-end, start: \"{}\", end: \"{}\", reason: quarter-end close}}\n",
        now - jiff::SignedDuration::from_mins(5),
        now + jiff::SignedDuration::from_hours(2)
    );
    let calendar = write_file(&dir, "freeze.yaml", &freeze);
    server.cli(&["apply", "-f", path_str(&calendar)]).expect(OK);

    // A rollout applied with the CLI waits, even with an implemented change.
    let rollout = write_file(
        &dir,
        "v2.yaml",
        &rollout_document("v2", "2.0.0", &listen, "{direct: {}}"),
    );
    server.cli(&["apply", "-f", path_str(&rollout)]).expect(OK);
    let status = server.wait_for_phase("v2", &["Pending"]);
    std::thread::sleep(Duration::from_secs(3));
    let status_later = server
        .cli(&["get", "rollout", "v2", "-o", "json"])
        .expect(OK)
        .json()["status"]
        .clone();
    assert_eq!(status_later["phase"], "Pending", "{status_later}");
    assert!(
        status["message"]
            .as_str()
            .unwrap_or_default()
            .contains("quarter-end"),
        "{status}"
    );
    // A release pipeline's deployment waits at the same gate.
    let mut service = server
        .cli(&["get", "service", "payments-api", "-o", "json"])
        .expect(OK)
        .json();
    service.as_object_mut().unwrap().remove("status");
    service["spec"]["endpoints"] = serde_json::json!({"production": listen});
    let service_file = write_file(&dir, "payments-api.json", &service.to_string());
    server
        .cli(&["apply", "-f", path_str(&service_file)])
        .expect(OK);
    let release = "apiVersion: slipway.dev/v1alpha1\nkind: Pipeline\nmetadata: {name: frozen}\nspec:\n  stages:\n    - {environment: production, strategy: {direct: {}}}\n---\napiVersion: slipway.dev/v1alpha1\nkind: Release\nmetadata: {name: frozen}\nspec: {pipeline: frozen, change: chg-tests, artifacts: [payments-api-3-0-0]}\n";
    let release = write_file(&dir, "frozen.yaml", release);
    server.cli(&["apply", "-f", path_str(&release)]).expect(OK);
    std::thread::sleep(Duration::from_secs(3));
    let body = reqwest::blocking::get(format!("http://{listen}/"))
        .unwrap()
        .text()
        .unwrap();
    assert!(
        body.contains("1.0.0"),
        "nothing may deploy during the freeze: {body}"
    );
    let explained = server.cli(&["gate", "explain", "v2"]).expect(OK);
    assert!(
        explained.stdout.contains("✗ freeze"),
        "{}",
        explained.stdout
    );
    // The release's stage is held too; take it away (it would follow v2 otherwise).
    let release = server.wait_for("release", "frozen", &["Progressing"]);
    assert!(release["waves"].is_array(), "{release}");
    let waiting = server
        .cli(&[
            "get",
            "rollout",
            "frozen-production-payments-api",
            "-o",
            "json",
        ])
        .expect(OK)
        .json();
    // Queued behind v2 or waiting at the gate itself: either way not deploying.
    assert!(
        waiting["status"]["phase"].is_null() || waiting["status"]["phase"] == "Pending",
        "{waiting}"
    );
    server.cli(&["delete", "release", "frozen"]).expect(OK);
    server
        .cli(&["delete", "rollout", "frozen-production-payments-api"])
        .expect(OK);

    // An exception to the freeze, approved by someone who may approve the change, lets the
    // waiting rollout through; the requester cannot grant it to himself.
    let bob = second_admin(&server);
    let own = server
        .cli(&[
            "change",
            "approve-exception",
            "chg-tests",
            "--reason",
            "mine",
        ])
        .expect(DENIED);
    assert!(
        own.stderr.contains("separation of duties"),
        "{}",
        own.stderr
    );
    server
        .cli_as(
            &bob,
            &[
                "change",
                "approve-exception",
                "chg-tests",
                "--reason",
                "fix for the close",
            ],
        )
        .expect(OK);
    let status = server.wait_for_phase("v2", &["Promoted", "RolledBack", "Failed"]);
    assert_eq!(status["phase"], "Promoted", "{status}");

    // Break-glass: an emergency change is implemented at once, for a limited time.
    let emergency = "apiVersion: slipway.dev/v1alpha1\nkind: ChangeRequest\nmetadata: {name: chg-911}\nspec:\n  type: emergency\n  title: hotfix\n  requester: admin\n  services: [payments-api]\n  environments: [production]\n  justification: payments are failing\n  implementationPlan: direct\n  backoutPlan: roll back\n";
    let file = write_file(&dir, "chg-911.yaml", emergency);
    server
        .cli(&["change", "create", "-f", path_str(&file)])
        .expect(OK);
    let glass = server
        .cli(&[
            "change",
            "break-glass",
            "chg-911",
            "--reason",
            "payments down",
            "--duration",
            "1h",
        ])
        .expect(OK);
    assert!(glass.stdout.contains("state Implement"), "{}", glass.stdout);
    let hotfix = rollout_document("hotfix", "2.0.0", &listen, "{direct: {}}")
        .replace("change: chg-tests", "change: chg-911");
    let hotfix = write_file(&dir, "hotfix.yaml", &hotfix);
    server.cli(&["apply", "-f", path_str(&hotfix)]).expect(OK);
    let status = server.wait_for_phase("hotfix", &["Promoted", "RolledBack", "Failed"]);
    assert_eq!(status["phase"], "Promoted", "{status}");
    let view = server
        .cli(&["change", "get", "chg-911", "-o", "json"])
        .expect(OK)
        .json();
    let grant = &view["record"]["breakGlass"];
    assert!(grant["retroApprovalDeadline"].is_string(), "{view}");
    assert!(grant["reviewTask"].is_object(), "{view}");
    // The retrospective approval, by someone else.
    server
        .cli_as(&bob, &["change", "approve", "chg-911"])
        .expect(OK);
    let view = server
        .cli(&["change", "get", "chg-911", "-o", "json"])
        .expect(OK)
        .json();
    assert!(view["record"]["authorisedDigest"].is_string(), "{view}");
}

#[test]
fn a_deployment_without_an_authorised_change_is_queued_for_review() {
    let (server, dir, _) = with_v1_serving();
    // v1 went to production under the authorised standard change: nothing to review.
    let queue = server
        .cli(&["change", "unauthorised", "-o", "json"])
        .expect(OK)
        .json();
    assert_eq!(
        queue["unauthorisedChanges"],
        serde_json::json!([]),
        "{queue}"
    );
    // Staging does not require a change request, so a rollout naming none goes ahead and is
    // recorded for review.
    let document = rollout_document("s2", "2.0.0", &loopback_address(), "{direct: {}}")
        .replace("environment: production", "environment: staging")
        .replace("  change: chg-tests\n", "");
    let file = write_file(&dir, "s2.yaml", &document);
    server.cli(&["apply", "-f", path_str(&file)]).expect(OK);
    let status = server.wait_for_phase("s2", &["Promoted", "RolledBack", "Failed"]);
    assert_eq!(status["phase"], "Promoted", "{status}");
    let queue = server
        .cli(&["change", "unauthorised", "-o", "json"])
        .expect(OK)
        .json();
    let items = queue["unauthorisedChanges"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{queue}");
    let item = &items[0];
    assert_eq!(
        item["subject"],
        serde_json::json!({"kind": "Rollout", "name": "s2"})
    );
    assert_eq!(
        (
            &item["service"],
            &item["environment"],
            &item["deployer"],
            &item["change"]
        ),
        (
            &serde_json::json!("payments-api"),
            &serde_json::json!("staging"),
            &serde_json::json!("admin"),
            &Value::Null
        ),
        "{item}"
    );
    assert!(
        item["reasons"][0]
            .as_str()
            .unwrap()
            .starts_with("not required in staging"),
        "{item}"
    );
    let table = server.cli(&["change", "unauthorised"]).expect(OK);
    assert!(
        table.stdout.contains("Rollout/s2")
            && table.stdout.contains("1 unauthorised change(s) to review"),
        "{}",
        table.stdout
    );
}

#[test]
fn rego_gate_policies_allow_and_deny_as_written() {
    let (server, dir, listen) = with_v1_serving();
    let policy = "apiVersion: slipway.dev/v1alpha1\nkind: GatePolicy\nmetadata: {name: banned-build}\nspec:\n  description: 3.0.0 must never reach production\n  rego: |\n    package slipway.gate.banned\n\n    deny contains msg if {\n      input.rollout.environment == \"production\"\n      input.rollout.version == \"3.0.0\"\n      msg := sprintf(\"version %s is banned from production\", [input.rollout.version])\n    }\n";
    let file = write_file(&dir, "policy.yaml", policy);
    server.cli(&["apply", "-f", path_str(&file)]).expect(OK);
    // A policy that does not compile is refused at apply, naming the field.
    let broken = policy.replace("deny contains msg if {", "deny contains msg if {{");
    let broken = write_file(&dir, "broken.yaml", &broken);
    let refused = server
        .cli(&["apply", "-f", path_str(&broken)])
        .expect(INVALID);
    assert!(refused.stderr.contains("spec.rego"), "{}", refused.stderr);

    let status = roll(&server, &dir, "v3", "3.0.0", &listen, "{direct: {}}");
    assert_eq!(status["phase"], "Failed", "{status}");
    assert!(
        status["message"]
            .as_str()
            .unwrap_or_default()
            .contains("version 3.0.0 is banned from production"),
        "{status}"
    );
    let explained = server.cli(&["gate", "explain", "v3"]).expect(OK);
    assert!(
        explained.stdout.contains("✗ policy:banned-build"),
        "{}",
        explained.stdout
    );
    let status = roll(&server, &dir, "v2", "2.0.0", &listen, "{direct: {}}");
    assert_eq!(status["phase"], "Promoted", "{status}");
    let explained = server.cli(&["gate", "explain", "v2"]).expect(OK);
    assert!(
        explained.stdout.contains("✓ policy:banned-build"),
        "{}",
        explained.stdout
    );
}

/// What the event receiver got: (headers lower-cased, body) per request.
type Received = std::sync::Arc<std::sync::Mutex<Vec<(String, String)>>>;

/// An HTTP endpoint that records every request it receives and answers 202.
fn event_receiver() -> (String, Received) {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/events", listener.local_addr().unwrap());
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let record = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut headers = String::new();
            let mut length = 0usize;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                let lower = line.to_ascii_lowercase();
                if let Some(v) = lower.strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
                headers.push_str(&lower);
            }
            let mut body = vec![0; length];
            let _ = reader.read_exact(&mut body);
            record
                .lock()
                .unwrap()
                .push((headers, String::from_utf8_lossy(&body).into_owned()));
            let _ = stream.write_all(
                b"HTTP/1.1 202 Accepted\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
            );
        }
    });
    (url, seen)
}

#[test]
fn cdevents_reach_the_configured_sinks_in_both_modes() {
    let (server, dir, listen) = with_v1_serving();
    let (url, seen) = event_receiver();
    let sinks = format!(
        "apiVersion: slipway.dev/v1alpha1\nkind: EventSink\nmetadata: {{name: audit-bus}}\nspec: {{url: \"{url}\"}}\n---\napiVersion: slipway.dev/v1alpha1\nkind: EventSink\nmetadata: {{name: deploy-bot}}\nspec: {{url: \"{url}\", mode: binary, eventTypes: [\"dev.cdevents.service.*\"]}}\n"
    );
    let file = write_file(&dir, "sinks.yaml", &sinks);
    server.cli(&["apply", "-f", path_str(&file)]).expect(OK);
    // A ticket: a new change request submitted.
    let change = normal_change(&server, "chg-7", "roll back");
    server
        .cli(&["change", "create", "-f", path_str(&change)])
        .expect(OK);
    server.cli(&["change", "submit", "chg-7"]).expect(OK);
    // An upgrade of payments-api in production.
    let status = roll(&server, &dir, "v2", "2.0.0", &listen, "{direct: {}}");
    assert_eq!(status["phase"], "Promoted", "{status}");
    let deadline = Instant::now() + Duration::from_secs(20);
    let (structured, binary) = loop {
        let seen = seen.lock().unwrap().clone();
        let structured: Vec<Value> = seen
            .iter()
            .filter(|(h, _)| h.contains("content-type: application/cloudevents+json"))
            .map(|(_, b)| serde_json::from_str(b).unwrap())
            .collect();
        let binary: Vec<(String, Value)> = seen
            .iter()
            .filter(|(h, _)| h.contains("ce-specversion: 1.0"))
            .map(|(h, b)| (h.clone(), serde_json::from_str(b).unwrap()))
            .collect();
        let has = |t: &str| structured.iter().any(|e| e["type"] == t);
        if has("dev.cdevents.ticket.created.0.2.0")
            && has("dev.cdevents.service.upgraded.0.3.0")
            && !binary.is_empty()
        {
            break (structured, binary);
        }
        assert!(Instant::now() < deadline, "events so far: {seen:?}");
        std::thread::sleep(Duration::from_millis(200));
    };
    // Structured mode: the CloudEvent envelope carries the CDEvent as data, same id and type.
    let upgraded = structured
        .iter()
        .find(|e| e["type"] == "dev.cdevents.service.upgraded.0.3.0")
        .unwrap();
    assert_eq!(upgraded["specversion"], "1.0", "{upgraded}");
    assert_eq!(
        upgraded["data"]["context"]["id"], upgraded["id"],
        "{upgraded}"
    );
    assert_eq!(
        upgraded["data"]["subject"]["content"]["environment"]["id"],
        "production"
    );
    // Binary mode: only service events, attributes in headers, the CDEvent as the body.
    for (headers, body) in &binary {
        assert!(
            headers.contains("ce-type: dev.cdevents.service."),
            "{headers}"
        );
        assert!(
            body["context"]["type"]
                .as_str()
                .unwrap()
                .starts_with("dev.cdevents.service.")
        );
    }
}

#[test]
fn a_nightly_window_in_london_behaves_across_both_daylight_saving_changes() {
    let server = Server::start();
    apply_examples(&server);
    let calendar = "apiVersion: slipway.dev/v1alpha1\nkind: Calendar\nmetadata: {name: london-nights}\nspec:\n  scope: {environment: production}\n  timeZone: Europe/London\n  windows:\n    - {name: nightly, cron: \"30 1 * * *\", duration: 2h}\n";
    let file = write_file(server.root.path(), "calendar.yaml", calendar);
    server.cli(&["apply", "-f", path_str(&file)]).expect(OK);
    let allowed = |at: &str| {
        let answer = server
            .cli(&[
                "calendar",
                "check",
                "--service",
                "payments-api",
                "--environment",
                "production",
                "--at",
                at,
                "-o",
                "json",
            ])
            .expect(OK)
            .json();
        answer["decision"]["allowed"].as_bool().unwrap()
    };
    // An ordinary winter night: 01:30-03:30 GMT.
    assert!(!allowed("2026-03-28T01:15:00Z"));
    assert!(allowed("2026-03-28T01:45:00Z"));
    // Spring forward (29 March 2026): 01:30 does not exist; the window opens at 02:00 BST
    // (01:00 UTC) and lasts two real hours.
    assert!(!allowed("2026-03-29T00:45:00Z"));
    assert!(allowed("2026-03-29T01:15:00Z"));
    assert!(allowed("2026-03-29T02:45:00Z"));
    assert!(!allowed("2026-03-29T03:15:00Z"));
    // Fall back (25 October 2026): 01:30 happens twice; the first (BST, 00:30 UTC) opens it,
    // and two real hours later it is closed, though the clock shows 02:30 only once.
    assert!(allowed("2026-10-25T00:45:00Z"));
    assert!(!allowed("2026-10-25T02:45:00Z"));
    // The table form names the window, and the next slot is found.
    let table = server
        .cli(&[
            "calendar",
            "check",
            "--service",
            "payments-api",
            "--environment",
            "production",
            "--at",
            "2026-03-28T12:00:00Z",
            "--slot",
            "1h",
        ])
        .expect(OK);
    assert!(table.stdout.contains("not allowed"), "{}", table.stdout);
    assert!(
        table
            .stdout
            .contains("next allowed slot: 2026-03-29T01:00:00Z"),
        "{}",
        table.stdout
    );
}

#[test]
fn a_lockdown_pauses_a_rollout_in_flight_and_lifting_it_resumes() {
    let (server, dir, listen) = with_v1_serving();
    let rollout = write_file(
        &dir,
        "v2.yaml",
        &rollout_document(
            "v2",
            "2.0.0",
            &listen,
            "{canary: {steps: [{weight: 20, pause: 3s}]}}",
        ),
    );
    server.cli(&["apply", "-f", path_str(&rollout)]).expect(OK);
    server.wait_for_phase("v2", &["Progressing"]);
    let lockdown = write_file(
        &dir,
        "lockdown.yaml",
        "apiVersion: slipway.dev/v1alpha1\nkind: Calendar\nmetadata: {name: incident}\nspec: {lockdown: true}\n",
    );
    server.cli(&["apply", "-f", path_str(&lockdown)]).expect(OK);
    // Past the step's pause: still held, marked as paused by the lockdown.
    std::thread::sleep(Duration::from_secs(5));
    let held = server
        .cli(&["get", "rollout", "v2", "-o", "json"])
        .expect(OK)
        .json();
    assert_eq!(held["status"]["phase"], "Progressing", "{held}");
    assert_eq!(
        held["metadata"]["annotations"]["slipway.dev/paused-by-lockdown"], "true",
        "{held}"
    );
    server.cli(&["delete", "calendar", "incident"]).expect(OK);
    let status = server.wait_for_phase("v2", &["Promoted", "RolledBack", "Failed"]);
    assert_eq!(status["phase"], "Promoted", "{status}");
}
