//! The audit log: a graceful shutdown signs a final checkpoint covering every entry; offline
//! verification (of a data dir on either store, and of exported documents and proofs) passes,
//! and names what an attacker with database or file access changed.

use crate::support::snapshot;
use crate::support::*;
use serde_json::Value;

/// Applies the examples, lists the audit log, stops the server gracefully and checks that its
/// data dir verifies, with a final checkpoint covering every entry. Returns the log's entries.
fn stop_with_verified_log(server: &mut Server) -> Vec<Value> {
    server.apply(&examples_dir());
    let services = server.cli(&["get", "services", "-o", "json"]).expect(OK);
    assert_eq!(names(&services.json()).len(), 4, "{}", services.stdout);
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

/// One way to tamper with a stopped server's database, and what verification must say.
struct Tampering {
    name: &'static str,
    /// The SQL, given the log's entries.
    sql: fn(&[Value]) -> String,
    /// What `audit verify` must say, given the log's entries.
    says: fn(&[Value]) -> Vec<String>,
}

/// The sequence number of the latest entry about the ledger service.
fn ledger_entry(log: &[Value]) -> u64 {
    log.iter()
        .rev()
        .find(|e| e["kind"] == "Service" && e["name"] == "ledger")
        .and_then(|e| e["seq"].as_u64())
        .expect("the ledger's audit entry")
}

const TAMPERINGS: &[Tampering] = &[
    Tampering {
        name: "rewritten-entry",
        sql: |_| "UPDATE audit_entries SET actor = 'mallory' WHERE seq = 5".into(),
        says: |_| {
            vec![
                "audit verification failed: entry #5:".into(),
                "was modified".into(),
            ]
        },
    },
    Tampering {
        name: "truncated-log",
        sql: |_| {
            "DELETE FROM audit_entries WHERE seq >= (SELECT MAX(seq) - 1 FROM audit_entries)".into()
        },
        says: |log| {
            vec![
                format!("audit verification failed: entry #{}:", log.len() - 2),
                "truncated".into(),
            ]
        },
    },
    Tampering {
        name: "state-behind-slipways-back",
        sql: |_| {
            "UPDATE resources SET content = replace(content, 'double-entry ledger of every payment', 'nothing to see here') \
             WHERE kind = 'Service' AND name = 'ledger'"
                .into()
        },
        says: |log| {
            vec![
                format!("entry #{}: Service ledger in the store", ledger_entry(log)),
                "behind Slipway's back".into(),
            ]
        },
    },
];

/// Every tampering on a copy of one stopped server's data, each named by verification; the
/// messages are the same on both stores (one snapshot each).
fn check_tampering(store: Store) {
    let mut server = Server::builder().store(store).start();
    let log = stop_with_verified_log(&mut server);
    assert_eq!(
        server.data_dir().join("slipway.db").exists(),
        store == Store::Sqlite,
        "a PostgreSQL data dir must not grow a SQLite file"
    );
    for case in TAMPERINGS {
        let copy = server
            .data()
            .copy_to(&server.path(&format!("copy-{}", case.name)));
        copy.verify(&[]).expect(OK);
        copy.execute_sql(&[&(case.sql)(&log)]);
        let failed = copy.verify(&[]).expect(VERIFY_FAILED);
        let says = (case.says)(&log);
        failed.says(&says.iter().map(String::as_str).collect::<Vec<_>>());
        snapshot::assert_error(&format!("audit-verify-{}", case.name), &failed);
    }
}

#[test]
fn audit_verify_names_what_was_tampered_with_on_sqlite() {
    check_tampering(Store::Sqlite);
}

#[test]
fn audit_verify_names_what_was_tampered_with_on_postgres() {
    check_tampering(Store::Postgres);
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

/// The position of the first hash of a proof document's `proof` list.
fn first_proof_hash(text: &str) -> usize {
    let path = text.find("\"proof\": [").expect("the proof's hashes");
    path + text[path..].find("\n    \"").expect("a hash") + "\n    \"".len()
}

#[test]
fn offline_audit_documents_verify_and_reveal_tampering() {
    let server = Server::builder().with_examples().start();
    let export = server.path("export.json");
    let proof = server.path("proof.json");
    let consistency = server.path("consistency.json");
    let exported = server
        .cli(&["audit", "export", "--out", path_str(&export)])
        .expect(OK);
    assert!(exported.stdout.starts_with("wrote "), "{}", exported.stdout);
    server
        .cli(&["audit", "proof", "--entry", "3", "--out", path_str(&proof)])
        .expect(OK);

    server.cli(&["audit", "checkpoint"]).expect(OK);
    server.apply_text(
        "more.yaml",
        "apiVersion: slipway.dev/v1alpha1\nkind: Team\nmetadata:\n  name: t1\nspec:\n  displayName: Team One\n",
    );
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

    let public_key = server.data_dir().join("audit-signing.pub");
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
    let tampered = server.write(
        "export-tampered.json",
        flip_byte(&text, value_position(&text, entry, "actor")),
    );
    server
        .cli(&["audit", "verify", "--export", path_str(&tampered)])
        .expect(VERIFY_FAILED)
        .says(&["entry #4"]);

    // One byte of the inclusion proof's first hash.
    let text = std::fs::read_to_string(&proof).expect("the proof");
    let tampered = server.write(
        "proof-tampered.json",
        flip_byte(&text, first_proof_hash(&text)),
    );
    server
        .cli(&[
            "audit",
            "verify",
            "--export",
            path_str(&tampered),
            "--public-key",
            path_str(&public_key),
        ])
        .expect(VERIFY_FAILED)
        .says(&["entry #3: the inclusion proof does not lead to the checkpoint's root"]);

    // And one of the consistency proof's.
    let text = std::fs::read_to_string(&consistency).expect("the consistency proof");
    let tampered = server.write(
        "consistency-tampered.json",
        flip_byte(&text, first_proof_hash(&text)),
    );
    server
        .cli(&["audit", "verify", "--export", path_str(&tampered)])
        .expect(VERIFY_FAILED)
        .says(&["is not an extension"]);
}

/// Two replicas on one PostgreSQL database, written to at the same time: each sees the other's
/// writes, and the one log they share verifies with every write in it.
#[test]
fn two_replicas_on_one_postgres_database_share_one_log() {
    let mut first = Server::builder().postgres().start();
    let mut second = Server::builder().on(first.data()).start();
    std::thread::scope(|scope| {
        for (replica, prefix) in [(&first, "a"), (&second, "b")] {
            scope.spawn(move || {
                for i in 0..5 {
                    replica.apply_text(
                        &format!("team-{prefix}{i}.yaml"),
                        &format!(
                            "apiVersion: slipway.dev/v1alpha1\nkind: Team\nmetadata: {{name: {prefix}{i}}}\nspec: {{displayName: Team {prefix}{i}}}\n"
                        ),
                    );
                }
            });
        }
    });
    let teams = |replica: &Server| {
        names(
            &replica
                .cli(&["get", "teams", "-o", "json"])
                .expect(OK)
                .json(),
        )
    };
    let expected: Vec<String> = ["a0", "a1", "a2", "a3", "a4", "b0", "b1", "b2", "b3", "b4"]
        .map(String::from)
        .to_vec();
    assert_eq!(teams(&first), expected);
    assert_eq!(teams(&second), expected);
    let team_entries = first
        .cli(&["audit", "entries", "--limit", "10000", "-o", "json"])
        .expect(OK)
        .json()
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "Team")
        .count();
    assert_eq!(team_entries, 10);
    second.stop();
    first.stop();
    let report = first.verify_data_dir(&["-o", "json"]).expect(OK).json();
    assert_eq!(report["problems"], serde_json::json!([]), "{report}");
    assert_eq!(report["latest_checkpoint"], report["entries"], "{report}");
}
