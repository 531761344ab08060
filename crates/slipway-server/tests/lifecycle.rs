//! The composition root's lifecycle on a real data dir: a configuration is refused before
//! anything starts (naming the file), a started server answers over HTTP, a taken port stops
//! the start, and stopping drains and signs a final checkpoint covering every entry.
#![allow(clippy::unwrap_used)] // in tests a panic is a failing test, which is the point

use slipway_server::{Config, Server, ServerError};
use slipway_store::data_dir::DataDir;
use slipway_store::{SqlStore, Store};
use std::time::Duration;

async fn initialised() -> (tempfile::TempDir, DataDir) {
    let tmp = tempfile::tempdir().unwrap();
    let data = DataDir::new(tmp.path().join("data"));
    slipway_server::bootstrap::init(&data, None, "admin")
        .await
        .unwrap();
    (tmp, data)
}

fn config(data: &DataDir) -> Config {
    let mut config = Config::new(&data.root);
    config.listen = "127.0.0.1:0".into();
    config.drain_timeout = Duration::from_secs(2);
    config
}

/// The message of a configuration refusal, or "" when the configuration reads.
fn refusal(config: Config) -> String {
    match config.read() {
        Ok(_) => String::new(),
        Err(ServerError::Config(message)) => message,
        Err(other) => panic!("not a configuration error: {other}"),
    }
}

#[tokio::test]
async fn configurations_are_refused_before_anything_starts() {
    let (tmp, data) = initialised().await;
    assert_eq!(refusal(config(&data)), "");

    let elsewhere = tmp.path().join("elsewhere");
    let message = refusal(Config::new(&elsewhere));
    assert!(
        message.contains("is not a slipway data dir: run slipway init"),
        "{message}"
    );

    let policy = tmp.path().join("naming.yaml");
    std::fs::write(&policy, "requireGitSha: maybe\n").unwrap();
    let mut bad_policy = config(&data);
    bad_policy.artifact_naming_policy = Some(policy.clone());
    let message = refusal(bad_policy);
    assert!(
        message.starts_with(&policy.display().to_string()),
        "{message}"
    );

    let mut missing_policy = config(&data);
    missing_policy.artifact_naming_policy = Some(tmp.path().join("absent.yaml"));
    assert!(refusal(missing_policy).starts_with("cannot read the naming policy"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_started_server_serves_and_stops_with_a_final_checkpoint() {
    let (_tmp, data) = initialised().await;
    let server = Server::start(config(&data).read().unwrap()).await.unwrap();
    let url = format!("http://{}", server.local_addr());
    let ready: serde_json::Value = reqwest::get(format!("{url}/readyz"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ready["status"], "ready");

    // The port is taken: a second server on it does not start.
    let mut same_port = config(&data);
    same_port.listen = server.local_addr().to_string();
    match Server::start(same_port.read().unwrap()).await {
        Err(ServerError::Start(message)) => {
            assert!(message.starts_with("cannot listen on"), "{message}")
        }
        Err(other) => panic!("not a start error: {other}"),
        Ok(_) => panic!("a second server started on a taken port"),
    }

    server.stop().await.unwrap();
    assert!(reqwest::get(format!("{url}/healthz")).await.is_err());
    let store = SqlStore::open(&data.sqlite_url()).await.unwrap();
    let (size, _) = store.audit_head().await.unwrap();
    let last = store.checkpoints().await.unwrap().pop().unwrap();
    assert_eq!(last.checkpoint.size, size);
}
