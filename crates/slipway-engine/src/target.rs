//! Targets: where service instances run. [`Target`] is the plug-in point (local processes
//! today; SSH hosts and Kubernetes later); [`LocalTarget`] is the embedded default.
//!
//! `LocalTarget` runs each instance as a child process with its own port (`PORT`), version
//! (`SLIPWAY_VERSION`) and working directory, keeps its last output lines for evidence, and
//! restarts it with exponential backoff when it exits until it is stopped.

use crate::EngineError;
use async_trait::async_trait;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio_util::sync::CancellationToken;

/// What to run.
#[derive(Debug, Clone)]
pub struct InstanceSpec {
    pub service: String,
    pub environment: String,
    pub version: String,
    /// Index among the instances of this version.
    pub index: u32,
    pub program: PathBuf,
    pub args: Vec<String>,
    pub env: BTreeMap<String, String>,
}

impl InstanceSpec {
    /// `service/environment/version#index`.
    pub fn id(&self) -> String {
        format!(
            "{}/{}/{}#{}",
            self.service, self.environment, self.version, self.index
        )
    }
}

/// The search path an instance gets unless its artifact sets `PATH`.
const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The whole environment of an instance: what its artifact declares, and Slipway's own
/// variables (`PORT`, `SLIPWAY_*`, a `HOME` in its working directory, a default `PATH`).
/// Nothing of the server's own environment is inherited: it may hold the database URL, the
/// CLI token or an event sink's credentials.
pub fn instance_environment(
    spec: &InstanceSpec,
    port: u16,
    instance_id: &str,
    dir: &std::path::Path,
) -> BTreeMap<String, String> {
    let mut env = BTreeMap::from([
        ("PATH".to_string(), DEFAULT_PATH.to_string()),
        ("HOME".to_string(), dir.display().to_string()),
    ]);
    env.extend(spec.env.iter().map(|(k, v)| (k.clone(), v.clone())));
    env.extend([
        ("PORT".to_string(), port.to_string()),
        ("SLIPWAY_VERSION".to_string(), spec.version.clone()),
        ("SLIPWAY_SERVICE".to_string(), spec.service.clone()),
        ("SLIPWAY_ENVIRONMENT".to_string(), spec.environment.clone()),
        ("SLIPWAY_INSTANCE".to_string(), instance_id.to_string()),
    ]);
    env
}

/// A started instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instance {
    pub id: String,
    pub version: String,
    pub addr: SocketAddr,
}

/// Where instances run.
#[async_trait]
pub trait Target: Send + Sync {
    /// Starts an instance and returns where it listens (it may not be ready yet).
    async fn start(&self, spec: &InstanceSpec) -> Result<Instance, EngineError>;
    /// Stops an instance; stopping an unknown or stopped instance is not an error.
    async fn stop(&self, id: &str);
    /// The instance's last output lines, for evidence.
    async fn last_output(&self, id: &str) -> Vec<String>;
    /// How many times the instance was restarted after exiting.
    async fn restarts(&self, id: &str) -> u32;
    /// Stops instances a previous run left behind (after a crash of the server); returns how
    /// many. Targets whose instances cannot outlive the server need not do anything.
    async fn reap_orphans(&self) -> usize {
        0
    }
    /// Stops every instance this target runs (at shutdown).
    async fn stop_all(&self);
}

const KEPT_LINES: usize = 50;

/// Distinguishes starts of the same instance spec within a process; seeded from the clock so a
/// restarted server does not reuse a crashed one's directories.
static GENERATION: std::sync::LazyLock<std::sync::atomic::AtomicU64> =
    std::sync::LazyLock::new(|| {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        std::sync::atomic::AtomicU64::new(seed)
    });

struct Supervised {
    stop: CancellationToken,
    output: Arc<Mutex<VecDeque<String>>>,
    restarts: Arc<std::sync::atomic::AtomicU32>,
    task: tokio::task::JoinHandle<()>,
}

/// Runs instances as local child processes.
pub struct LocalTarget {
    work_dir: PathBuf,
    instances: Mutex<HashMap<String, Supervised>>,
}

impl LocalTarget {
    /// Instances get working directories under `work_dir/<service>/<environment>/<version>/<index>`.
    pub fn new(work_dir: impl Into<PathBuf>) -> Self {
        LocalTarget {
            work_dir: work_dir.into(),
            instances: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Supervised>> {
        self.instances
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Stops processes a previous run of this target left behind (the server was killed and
    /// could not stop its children): every `pid` file under the work dir whose process still
    /// runs the same program is signalled. Returns how many were stopped.
    async fn reap_local_orphans(&self) -> usize {
        let mut pid_files = Vec::new();
        collect_pid_files(&self.work_dir, &mut pid_files, 0);
        let mut stopped = 0;
        for file in pid_files {
            let Some(pid) = std::fs::read_to_string(&file)
                .ok()
                .and_then(|t| t.trim().parse::<u32>().ok())
            else {
                continue;
            };
            let _ = std::fs::remove_file(&file);
            // Only a process whose working directory is this instance's directory is ours.
            let cwd = std::fs::read_link(format!("/proc/{pid}/cwd")).ok();
            if cwd.as_deref() != file.parent() {
                continue;
            }
            signal(pid, "-TERM").await;
            // Give it two seconds to stop by itself, then make sure.
            for _ in 0..20 {
                if !std::path::Path::new(&format!("/proc/{pid}")).exists() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            if std::fs::read_link(format!("/proc/{pid}/cwd"))
                .ok()
                .as_deref()
                == file.parent()
            {
                signal(pid, "-KILL").await;
            }
            stopped += 1;
        }
        stopped
    }
}

fn free_port() -> Result<u16, std::io::Error> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(l.local_addr()?.port())
}

/// One instance's supervision: its process is run, its output kept, and it is restarted
/// with backoff whenever it exits, until stopped.
struct Supervision {
    spec: InstanceSpec,
    id: String,
    port: u16,
    dir: PathBuf,
    stop: CancellationToken,
    output: Arc<Mutex<VecDeque<String>>>,
    restarts: Arc<std::sync::atomic::AtomicU32>,
}

impl Supervision {
    /// Runs the instance until stopped.
    async fn run(self) {
        let mut backoff = Duration::from_millis(100);
        loop {
            let mut child = match self.spawn().await {
                Ok(c) => c,
                Err(e) => {
                    push_line(
                        &self.output,
                        format!(
                            "[slipway] cannot start {}: {e}",
                            self.spec.program.display()
                        ),
                    );
                    if !self.pause(&mut backoff).await {
                        return;
                    }
                    continue;
                }
            };
            self.keep_output(&mut child);
            if let Some(pid) = child.id() {
                let _ = std::fs::write(self.dir.join("pid"), pid.to_string());
            }
            let started = std::time::Instant::now();
            tokio::select! {
                () = self.stop.cancelled() => {
                    terminate(&mut child).await;
                    return;
                }
                status = child.wait() => {
                    let status = status.map(|s| s.to_string()).unwrap_or_else(|e| e.to_string());
                    push_line(&self.output, format!("[slipway] instance exited: {status}"));
                    tracing::warn!(instance = %self.id, %status, "instance exited; restarting");
                }
            }
            if started.elapsed() > Duration::from_secs(30) {
                backoff = Duration::from_millis(100);
            }
            self.restarts
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            if !self.pause(&mut backoff).await {
                return;
            }
        }
    }

    /// Waits out the backoff (doubling it, up to 5 s); `false` when stopped meanwhile.
    async fn pause(&self, backoff: &mut Duration) -> bool {
        tokio::select! {
            () = self.stop.cancelled() => return false,
            () = tokio::time::sleep(*backoff) => {}
        }
        *backoff = (*backoff * 2).min(Duration::from_secs(5));
        true
    }

    /// Starts the process. Forking and exec'ing blocks the calling thread for milliseconds
    /// (tens with many instances starting at once): off the runtime's workers, which also
    /// carry the router and the guardrails.
    async fn spawn(&self) -> std::io::Result<tokio::process::Child> {
        let spec = &self.spec;
        let mut cmd = tokio::process::Command::new(&spec.program);
        cmd.args(&spec.args)
            .env_clear()
            .envs(instance_environment(spec, self.port, &self.id, &self.dir))
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        match tokio::task::spawn_blocking(move || cmd.spawn()).await {
            Ok(spawned) => spawned,
            Err(e) => Err(std::io::Error::other(format!(
                "the spawning thread failed: {e}"
            ))),
        }
    }

    /// Keeps the child's last output lines (stdout and stderr).
    fn keep_output(&self, child: &mut tokio::process::Child) {
        let streams = [
            child
                .stdout
                .take()
                .map(|s| Box::new(s) as Box<dyn tokio::io::AsyncRead + Unpin + Send>),
            child
                .stderr
                .take()
                .map(|s| Box::new(s) as Box<dyn tokio::io::AsyncRead + Unpin + Send>),
        ];
        for stream in streams.into_iter().flatten() {
            let output = self.output.clone();
            tokio::spawn(async move {
                let mut lines = BufReader::new(stream).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    push_line(&output, line);
                }
            });
        }
    }
}

#[async_trait]
impl Target for LocalTarget {
    async fn start(&self, spec: &InstanceSpec) -> Result<Instance, EngineError> {
        // Every start gets its own generation: starting the same version again (a redeploy,
        // a restore) never reuses the id or the directory of an instance that still runs.
        let generation = GENERATION.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let id = format!("{}@{generation}", spec.id());
        let fail = |reason: String| EngineError::Instance {
            instance: id.clone(),
            reason,
        };
        let port = free_port().map_err(|e| fail(format!("no free port: {e}")))?;
        let dir = self
            .work_dir
            .join(&spec.service)
            .join(&spec.environment)
            .join(&spec.version)
            .join(spec.index.to_string())
            .join(generation.to_string());
        std::fs::create_dir_all(&dir)
            .map_err(|e| fail(format!("cannot create {}: {e}", dir.display())))?;
        let supervision = Supervision {
            spec: spec.clone(),
            id: id.clone(),
            port,
            dir,
            stop: CancellationToken::new(),
            output: Arc::new(Mutex::new(VecDeque::with_capacity(KEPT_LINES))),
            restarts: Arc::new(std::sync::atomic::AtomicU32::new(0)),
        };
        let supervised = Supervised {
            stop: supervision.stop.clone(),
            output: supervision.output.clone(),
            restarts: supervision.restarts.clone(),
            task: tokio::spawn(supervision.run()),
        };
        self.lock().insert(id.clone(), supervised);
        Ok(Instance {
            id,
            version: spec.version.clone(),
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
        })
    }

    async fn stop(&self, id: &str) {
        let supervised = self.lock().remove(id);
        if let Some(s) = supervised {
            s.stop.cancel();
            let _ = tokio::time::timeout(Duration::from_secs(10), s.task).await;
        }
    }

    async fn last_output(&self, id: &str) -> Vec<String> {
        self.lock()
            .get(id)
            .map(|s| {
                s.output
                    .lock()
                    .map(|o| o.iter().cloned().collect())
                    .unwrap_or_default()
            })
            .unwrap_or_default()
    }

    async fn reap_orphans(&self) -> usize {
        self.reap_local_orphans().await
    }

    async fn stop_all(&self) {
        let ids: Vec<String> = self.lock().keys().cloned().collect();
        for id in ids {
            self.stop(&id).await;
        }
    }

    async fn restarts(&self, id: &str) -> u32 {
        self.lock()
            .get(id)
            .map(|s| s.restarts.load(std::sync::atomic::Ordering::Relaxed))
            .unwrap_or(0)
    }
}

async fn signal(pid: u32, which: &str) {
    let _ = tokio::process::Command::new("kill")
        .arg(which)
        .arg(pid.to_string())
        .status()
        .await;
}

fn collect_pid_files(dir: &std::path::Path, out: &mut Vec<PathBuf>, depth: usize) {
    if depth > 6 {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect_pid_files(&path, out, depth + 1);
        } else if path.file_name().is_some_and(|n| n == "pid") {
            out.push(path);
        }
    }
}

fn push_line(output: &Mutex<VecDeque<String>>, line: String) {
    if let Ok(mut o) = output.lock() {
        if o.len() == KEPT_LINES {
            o.pop_front();
        }
        o.push_back(line);
    }
}

/// SIGTERM through `kill`, then SIGKILL after 5 s.
async fn terminate(child: &mut tokio::process::Child) {
    if let Some(pid) = child.id() {
        let _ = tokio::process::Command::new("kill")
            .arg("-TERM")
            .arg(pid.to_string())
            .status()
            .await;
        if tokio::time::timeout(Duration::from_secs(5), child.wait())
            .await
            .is_ok()
        {
            return;
        }
    }
    let _ = child.kill().await;
}
