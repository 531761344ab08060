//! The local target with real processes: instances start on their own ports, become healthy,
//! are restarted after a crash, keep their output, and stop.
#![allow(clippy::unwrap_used)] // in tests a panic is a failing test, which is the point

use slipway_engine::health::{probe, wait_ready};
use slipway_engine::target::{InstanceSpec, LocalTarget, Target};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// A tiny HTTP server in Python: serves /healthz and / with the version, exits on /crash.
const SERVER: &str = r#"
import http.server, os, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/crash":
            os._exit(3)
        body = ("v=" + os.environ["SLIPWAY_VERSION"] + "\n").encode()
        self.send_response(200); self.send_header("content-length", str(len(body))); self.end_headers(); self.wfile.write(body)
    def log_message(self, *a):
        sys.stderr.write("request " + self.path + "\n")
print("listening on", os.environ["PORT"], flush=True)
http.server.HTTPServer(("127.0.0.1", int(os.environ["PORT"])), H).serve_forever()
"#;

fn spec(dir: &std::path::Path, version: &str) -> InstanceSpec {
    let script = dir.join("server.py");
    std::fs::write(&script, SERVER).unwrap();
    InstanceSpec {
        service: "api".into(),
        environment: "staging".into(),
        version: version.into(),
        index: 0,
        program: PathBuf::from("python3"),
        args: vec![script.display().to_string()],
        env: BTreeMap::new(),
    }
}

#[tokio::test]
async fn instances_run_restart_and_stop() {
    let dir = tempfile::tempdir().unwrap();
    let target = LocalTarget::new(dir.path().join("work"));
    let client = reqwest::Client::new();
    let a = target.start(&spec(dir.path(), "1.0.0")).await.unwrap();
    let b = target
        .start(&InstanceSpec {
            index: 1,
            ..spec(dir.path(), "1.0.0")
        })
        .await
        .unwrap();
    assert_ne!(a.addr, b.addr);
    assert!(wait_ready(&client, a.addr, "/healthz", Duration::from_secs(20)).await);
    assert!(wait_ready(&client, b.addr, "/healthz", Duration::from_secs(20)).await);
    let body = client
        .get(format!("http://{}/", a.addr))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(body, "v=1.0.0\n");

    // A crash is followed by a restart on the same port.
    let _ = client.get(format!("http://{}/crash", a.addr)).send().await;
    let mut restarted = false;
    for _ in 0..100 {
        if target.restarts(&a.id).await >= 1
            && probe(&client, a.addr, "/healthz", Duration::from_millis(300)).await
        {
            restarted = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(restarted, "the crashed instance came back");
    let output = target.last_output(&a.id).await;
    assert!(
        output.iter().any(|l| l.contains("instance exited")),
        "{output:?}"
    );
    assert!(
        output.iter().any(|l| l.starts_with("listening on")),
        "{output:?}"
    );

    target.stop(&a.id).await;
    target.stop(&b.id).await;
    assert!(!probe(&client, a.addr, "/healthz", Duration::from_millis(300)).await);
    assert!(!probe(&client, b.addr, "/healthz", Duration::from_millis(300)).await);
}

/// Prints the instance's whole environment, one `NAME=value` line each, then stays up.
const PRINT_ENV: &str = r#"
import os, sys, time
for k in sorted(os.environ):
    print(k + "=" + os.environ[k], flush=True)
time.sleep(60)
"#;

#[tokio::test]
async fn instances_get_only_their_own_environment_not_the_servers() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("env.py");
    std::fs::write(&script, PRINT_ENV).unwrap();
    let target = LocalTarget::new(dir.path().join("work"));
    let instance = target
        .start(&InstanceSpec {
            env: BTreeMap::from([("GREETING".to_string(), "hello".to_string())]),
            program: PathBuf::from("python3"),
            args: vec![script.display().to_string()],
            ..spec(dir.path(), "2.0.0")
        })
        .await
        .unwrap();
    let mut names = Vec::new();
    for _ in 0..100 {
        let output = target.last_output(&instance.id).await;
        if output.iter().any(|l| l.starts_with("SLIPWAY_VERSION=")) {
            names = output
                .iter()
                .filter_map(|l| l.split_once('=').map(|(k, _)| k.to_string()))
                .collect();
            assert!(output.contains(&"GREETING=hello".to_string()), "{output:?}");
            assert!(
                output.contains(&"SLIPWAY_VERSION=2.0.0".to_string()),
                "{output:?}"
            );
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    target.stop(&instance.id).await;
    // This test process has CARGO_* variables (set by cargo for every test run): an instance
    // that inherited the server's environment would see them, and any secret beside them.
    assert!(std::env::var("CARGO_MANIFEST_DIR").is_ok());
    let mut expected: Vec<String> = [
        "GREETING",
        "HOME",
        "PATH",
        "PORT",
        "SLIPWAY_ENVIRONMENT",
        "SLIPWAY_INSTANCE",
        "SLIPWAY_SERVICE",
        "SLIPWAY_VERSION",
    ]
    .map(String::from)
    .to_vec();
    // Python's own start-up may add a locale variable; nothing else may appear.
    names.retain(|n| n != "LC_CTYPE");
    expected.sort();
    assert_eq!(names, expected);
}
