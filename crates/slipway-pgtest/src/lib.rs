//! Throwaway PostgreSQL clusters for tests.
//!
//! [`PgCluster::shared`] runs `initdb` and `postgres` from the local PostgreSQL server binaries
//! (`/usr/lib/postgresql/<version>/bin`, or `SLIPWAY_PG_BIN`) in a temporary directory on a free
//! loopback port, once per test process. When the tests run as root the server runs as the
//! `postgres` user, as PostgreSQL requires. A small shell watchdog stops the server and removes
//! its directory when the test process exits, so no cluster outlives its tests.
#![forbid(unsafe_code)]

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// A running throwaway cluster. Connect as user `postgres` with no password (trust auth,
/// loopback only).
#[derive(Debug)]
pub struct PgCluster {
    pub port: u16,
    pub dir: PathBuf,
}

impl PgCluster {
    /// The cluster shared by every test in this process, started on first use.
    ///
    /// Panics with the reason when no cluster can be started: a test that needs PostgreSQL must
    /// fail loudly rather than pass without it.
    pub fn shared() -> &'static PgCluster {
        static CLUSTER: OnceLock<PgCluster> = OnceLock::new();
        CLUSTER.get_or_init(|| match PgCluster::start() {
            Ok(c) => c,
            Err(e) => panic!("cannot start a throwaway PostgreSQL cluster: {e}"),
        })
    }

    /// A connection URL for database `db`.
    pub fn url(&self, db: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{db}", self.port)
    }

    fn start() -> Result<PgCluster, String> {
        let bin = find_bin_dir()?;
        let as_root = is_root();
        let dir = std::env::temp_dir().join(format!(
            "slipway-pg-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0)
        ));
        std::fs::create_dir_all(&dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        if as_root {
            run(Command::new("chown").arg("postgres:").arg(&dir), "chown")?;
        }
        let data = dir.join("data");
        let initdb = bin.join("initdb");
        let mut cmd = user_command(as_root, &initdb);
        cmd.arg("-D").arg(&data).args([
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-sync",
            "--no-instructions",
        ]);
        run(&mut cmd, "initdb")?;

        let port = free_port()?;
        let postgres = bin.join("postgres");
        let script = r#"
"$1" -D "$2" -p "$3" -k "$4" -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200 >"$4/server.log" 2>&1 &
pg=$!
while [ -d "/proc/$5" ] && kill -0 "$pg" 2>/dev/null; do sleep 0.5; done
kill -INT "$pg" 2>/dev/null
wait "$pg"
rm -rf "$4"
"#;
        let mut watchdog = user_command(as_root, Path::new("/bin/sh"));
        watchdog
            .arg("-c")
            .arg(script)
            .arg("slipway-pg")
            .arg(&postgres)
            .arg(&data)
            .arg(port.to_string())
            .arg(&dir)
            .arg(std::process::id().to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        watchdog
            .spawn()
            .map_err(|e| format!("cannot start postgres: {e}"))?;

        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let ready = Command::new(bin.join("pg_isready"))
                .args([
                    "-h",
                    "127.0.0.1",
                    "-p",
                    &port.to_string(),
                    "-U",
                    "postgres",
                    "-q",
                ])
                .status()
                .map(|s| s.success())
                .unwrap_or_else(|_| TcpStream::connect(("127.0.0.1", port)).is_ok());
            if ready {
                return Ok(PgCluster { port, dir });
            }
            if Instant::now() > deadline {
                let log = std::fs::read_to_string(dir.join("server.log")).unwrap_or_default();
                return Err(format!(
                    "postgres did not become ready on port {port} within 60 s; its log:\n{log}"
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

fn user_command(as_root: bool, program: &Path) -> Command {
    if as_root {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

fn run(cmd: &mut Command, what: &str) -> Result<(), String> {
    let out = cmd
        .output()
        .map_err(|e| format!("cannot run {what}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{what} failed ({}): {}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn free_port() -> Result<u16, String> {
    let l =
        TcpListener::bind("127.0.0.1:0").map_err(|e| format!("cannot find a free port: {e}"))?;
    l.local_addr().map(|a| a.port()).map_err(|e| e.to_string())
}

/// The newest `/usr/lib/postgresql/<v>/bin` that has `initdb`, or `SLIPWAY_PG_BIN`.
fn find_bin_dir() -> Result<PathBuf, String> {
    if let Ok(dir) = std::env::var("SLIPWAY_PG_BIN") {
        return Ok(PathBuf::from(dir));
    }
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .map_err(|_| "no /usr/lib/postgresql: install the PostgreSQL server (apt-get install postgresql) or set SLIPWAY_PG_BIN".to_string())?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let v: u32 = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((v, bin))
        })
        .collect();
    found.sort();
    found
        .pop()
        .map(|(_, p)| p)
        .ok_or_else(|| "no initdb under /usr/lib/postgresql/*/bin".to_string())
}
