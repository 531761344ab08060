//! The artifact store and the supply chain through the `slipway` binary: pushes are immutable,
//! the naming policy lists everything missing, legal holds beat retention, garbage collection
//! frees only what nothing references, a Rollout of an `oci:` artifact runs it, a promotion
//! policy refuses a vulnerable artifact and allows a clean signed one; offline, `verify-bundle`
//! passes the sigstore conformance suite and `scan` matches cargo-audit.

use crate::support::snapshot;
use crate::support::*;
use serde_json::Value;
use std::fs::File;
use std::path::{Path, PathBuf};

/// A server with the repository's examples applied, and `extra` server arguments.
fn start(extra: &[&str]) -> Server {
    Server::builder().args(extra).with_examples().start()
}

/// `artifact push FILE --service payments-api --version V EXTRA... -o json`.
fn push(server: &Server, file: &Path, version: &str, extra: &[&str]) -> Run {
    let mut args = vec![
        "artifact",
        "push",
        path_str(file),
        "--service",
        "payments-api",
        "--version",
        version,
        "-o",
        "json",
    ];
    args.extend(extra);
    server.cli(&args)
}

/// Where the store keeps the blob `digest`.
fn blob(server: &Server, digest: &str) -> PathBuf {
    server
        .data_dir()
        .join("artifacts/blobs/sha256")
        .join(digest.trim_start_matches("sha256:"))
}

const GIT_SHA: &str = "0123456789abcdef0123456789abcdef01234567";

#[test]
fn pushes_are_immutable_and_pull_ls_inspect_and_referrers_show_them() {
    let server = start(&[]);
    // Large enough to take several chunks each way.
    let content: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    let file = server.write("payments.bin", &content);

    let first = push(
        &server,
        &file,
        "1.0.0",
        &["--git-sha", GIT_SHA, "--platform", "linux/amd64"],
    )
    .expect(OK)
    .json();
    assert_eq!(first["alreadyPresent"], false, "{first}");
    assert_eq!(first["size"], content.len());
    assert_eq!(first["resource"]["action"], "created", "{first}");
    assert_eq!(first["resource"]["name"], "payments-api-1-0-0");
    assert!(first["signature"]["digest"].is_string(), "{first}");

    let again = push(
        &server,
        &file,
        "1.0.0",
        &["--git-sha", GIT_SHA, "--platform", "linux/amd64"],
    )
    .expect(OK)
    .json();
    assert_eq!(again["alreadyPresent"], true, "{again}");
    assert_eq!(again["indexDigest"], first["indexDigest"]);
    assert_eq!(again["resource"]["action"], "unchanged", "{again}");
    assert_eq!(again["signature"], first["signature"], "signed once");

    let table = server
        .cli(&[
            "artifact",
            "push",
            path_str(&file),
            "--service",
            "payments-api",
            "--version",
            "1.0.0",
            "--git-sha",
            GIT_SHA,
            "--platform",
            "linux/amd64",
        ])
        .expect(OK);
    assert!(table.stdout.contains("nothing changed"), "{}", table.stdout);

    let other = server.write("other.bin", b"a different build");
    let refused = push(
        &server,
        &other,
        "1.0.0",
        &["--git-sha", GIT_SHA, "--platform", "linux/amd64"],
    )
    .expect(CONFLICT);
    let layer = first["layerDigest"].as_str().unwrap();
    assert!(refused.stderr.contains(layer), "{}", refused.stderr);
    assert!(
        refused
            .stderr
            .contains("refusing different content sha256:"),
        "{}",
        refused.stderr
    );

    let out = server.path("pulled.bin");
    server
        .cli(&[
            "artifact",
            "pull",
            "payments-api",
            "1.0.0",
            "-o",
            path_str(&out),
        ])
        .expect(OK);
    assert_eq!(std::fs::read(&out).unwrap(), content);
    server
        .cli(&[
            "artifact",
            "pull",
            "payments-api",
            "9.9.9",
            "-o",
            path_str(&out),
        ])
        .expect(NOT_FOUND);

    let ls = server.cli(&["artifact", "ls"]).expect(OK);
    snapshot::assert_table("artifact-ls", &ls);
    assert!(
        ls.stdout.lines().any(|l| l.contains("payments-api")
            && l.contains("1.0.0")
            && l.contains("linux/amd64")
            && l.contains(&content.len().to_string())),
        "{}",
        ls.stdout
    );
    let listed = server
        .cli(&["artifact", "ls", "--service", "payments-api", "-o", "json"])
        .expect(OK)
        .json();
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["digest"], first["indexDigest"]);

    let inspected = server
        .cli(&["artifact", "inspect", "payments-api", "1.0.0", "-o", "json"])
        .expect(OK)
        .json();
    assert_eq!(inspected["summary"]["variants"][0]["revision"], GIT_SHA);
    assert_eq!(
        inspected["summary"]["variants"][0]["fileName"],
        "payments.bin"
    );
    let table = server
        .cli(&["artifact", "inspect", "payments-api", "1.0.0"])
        .expect(OK);
    snapshot::assert_output("artifact-inspect", &table);
    assert!(table.stdout.contains(GIT_SHA), "{}", table.stdout);
    assert!(
        table
            .stdout
            .contains("application/vnd.slipway.signature.v1+json"),
        "{}",
        table.stdout
    );

    let resource = server
        .cli(&["get", "artifact", "payments-api-1-0-0", "-o", "json"])
        .expect(OK)
        .json();
    assert_eq!(resource["spec"]["location"], "oci:payments-api:1.0.0");
    assert_eq!(resource["spec"]["digest"], first["indexDigest"]);

    let sbom = server.write(
        "sbom.json",
        br#"{"bomFormat": "CycloneDX", "specVersion": "1.5", "components": []}"#,
    );
    server
        .cli(&[
            "artifact",
            "attach",
            "payments-api",
            "1.0.0",
            "--type",
            "sbom-cyclonedx",
            path_str(&sbom),
        ])
        .expect(OK);
    let sboms = server
        .cli(&[
            "artifact",
            "referrers",
            "payments-api",
            "1.0.0",
            "--type",
            "sbom-cyclonedx",
            "-o",
            "json",
        ])
        .expect(OK)
        .json();
    assert_eq!(sboms.as_array().unwrap().len(), 1, "{sboms}");
    assert_eq!(
        sboms[0]["descriptor"]["artifactType"],
        "application/vnd.cyclonedx+json"
    );
    assert_eq!(sboms[0]["subject"], first["manifestDigest"]);
    assert_eq!(sboms[0]["platform"], "linux/amd64");
    let all = server
        .cli(&[
            "artifact",
            "referrers",
            "payments-api",
            "1.0.0",
            "-o",
            "json",
        ])
        .expect(OK)
        .json();
    assert_eq!(
        all.as_array().unwrap().len(),
        2,
        "signature and SBOM: {all}"
    );
    server
        .cli(&[
            "artifact",
            "attach",
            "payments-api",
            "1.0.0",
            "--type",
            "not a type",
            path_str(&sbom),
        ])
        .expect(INVALID);

    // Export and import into a second server.
    let archive = server.path("export.tar");
    let exported = server
        .cli(&[
            "artifact",
            "export",
            "payments-api:1.0.0",
            "-o",
            path_str(&archive),
        ])
        .expect(OK);
    assert!(
        exported.stdout.contains("1 version(s)"),
        "{}",
        exported.stdout
    );
    let second = start(&[]);
    let imported = second
        .cli(&["artifact", "import", path_str(&archive)])
        .expect(OK);
    assert!(
        imported.stdout.contains("imported: payments-api:1.0.0"),
        "{}",
        imported.stdout
    );
    let out2 = second.path("pulled.bin");
    second
        .cli(&[
            "artifact",
            "pull",
            "payments-api",
            "1.0.0",
            "-o",
            path_str(&out2),
        ])
        .expect(OK);
    assert_eq!(std::fs::read(&out2).unwrap(), content);
    let resource = second
        .cli(&["get", "artifact", "payments-api-1-0-0", "-o", "json"])
        .expect(OK)
        .json();
    assert_eq!(resource["spec"]["digest"], first["indexDigest"]);
}

#[test]
fn the_naming_policy_lists_everything_missing() {
    let probe = tempfile::tempdir().unwrap();
    let policy = probe.path().join("naming.yaml");
    std::fs::write(
        &policy,
        "requireGitSha: true\nrequirePipelineId: true\nrequireBuildTime: true\nrequirePlatform: true\n",
    )
    .unwrap();
    let server = start(&["--artifact-naming-policy", path_str(&policy)]);
    let file = server.write("app.bin", b"app");
    let refused = push(&server, &file, "v1", &[]).expect(INVALID);
    for missing in [
        "missing git SHA (--git-sha)",
        "missing pipeline id (--pipeline-id)",
        "missing build time (--build-time)",
        "missing target platform (--platform os/arch)",
        "version",
    ] {
        assert!(
            refused.stderr.contains(missing),
            "{missing}: {}",
            refused.stderr
        );
    }
    server.cli(&["artifact", "ls", "-o", "json"]).expect(OK);
    assert_eq!(
        server.cli(&["artifact", "ls", "-o", "json"]).json(),
        serde_json::json!([]),
        "nothing stored"
    );
    push(
        &server,
        &file,
        "1.0.0",
        &[
            "--git-sha",
            GIT_SHA,
            "--pipeline-id",
            "build-77",
            "--build-time",
            "2024-05-01T10:00:00Z",
            "--platform",
            "linux/amd64",
        ],
    )
    .expect(OK);
}

#[test]
fn holds_beat_retention_and_garbage_collection_keeps_shared_blobs() {
    let server = start(&[]);
    let shared = server.write("shared.bin", b"the same build twice");
    let only = server.write("only.bin", b"a build nobody keeps");
    let newest = server.write("newest.bin", b"the newest build");
    let push = |file: &Path, version: &str, built: &str| {
        push(&server, file, version, &["--build-time", built])
            .expect(OK)
            .json()
    };
    let v1 = push(&shared, "1.0.0", "2020-01-01T00:00:00Z");
    let v11 = push(&shared, "1.1.0", "2020-02-01T00:00:00Z");
    let v2 = push(&only, "2.0.0", "2020-03-01T00:00:00Z");
    push(&newest, "3.0.0", "2020-04-01T00:00:00Z");
    assert_eq!(v1["layerDigest"], v11["layerDigest"], "one blob for both");

    let held = server
        .cli(&[
            "artifact",
            "hold",
            "payments-api",
            "1.1.0",
            "--reason",
            "litigation 42",
        ])
        .expect(OK);
    assert!(held.stdout.contains("under legal hold"), "{}", held.stdout);
    let resource = server
        .cli(&["get", "artifact", "payments-api-1-1-0", "-o", "json"])
        .expect(OK)
        .json();
    assert_eq!(
        resource["metadata"]["annotations"]["slipway.dev/legal-hold"],
        "litigation 42 (admin)"
    );
    server
        .cli(&[
            "artifact",
            "hold",
            "payments-api",
            "1.1.0",
            "--reason",
            "again",
        ])
        .expect(CONFLICT);

    let policy = server.write(
        "retention.yaml",
        b"keepLastPerService: 1\nkeepNewerThan: 1d\n",
    );
    let dry = server
        .cli(&["artifact", "retention", "--policy", path_str(&policy)])
        .expect(OK);
    snapshot::assert_output("artifact-retention-dry-run", &dry);
    let line = |prefix: &str| {
        dry.stdout
            .lines()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no line {prefix:?} in\n{}", dry.stdout))
            .to_string()
    };
    assert!(
        line("keep payments-api:1.1.0:").contains("legal hold since"),
        "{}",
        dry.stdout
    );
    assert!(line("keep payments-api:1.1.0:").contains("litigation 42"));
    assert!(line("keep payments-api:3.0.0:").contains("newest #1"));
    assert!(line("would delete payments-api:2.0.0:").contains("older than 1d"));
    line("would delete payments-api:1.0.0:");
    assert!(
        dry.stdout.contains("would delete 2 version(s)"),
        "{}",
        dry.stdout
    );
    assert_eq!(
        server
            .cli(&["artifact", "ls", "-o", "json"])
            .expect(OK)
            .json()
            .as_array()
            .unwrap()
            .len(),
        4,
        "a dry run changes nothing"
    );

    let applied = server
        .cli(&[
            "artifact",
            "retention",
            "--policy",
            path_str(&policy),
            "--apply",
        ])
        .expect(OK);
    assert!(
        applied.stdout.contains("deleted 2 version(s)"),
        "{}",
        applied.stdout
    );
    let left: Vec<String> = server
        .cli(&["artifact", "ls", "-o", "json"])
        .expect(OK)
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["version"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(left, ["1.1.0", "3.0.0"]);
    assert!(
        blob(&server, v11["layerDigest"].as_str().unwrap()).exists(),
        "shared blob kept"
    );
    assert!(
        !blob(&server, v2["layerDigest"].as_str().unwrap()).exists(),
        "unused blob freed"
    );
    let out = server.path("kept.bin");
    server
        .cli(&[
            "artifact",
            "pull",
            "payments-api",
            "1.1.0",
            "-o",
            path_str(&out),
        ])
        .expect(OK);
    assert_eq!(std::fs::read(&out).unwrap(), b"the same build twice");
    server
        .cli(&["get", "artifact", "payments-api-2-0-0"])
        .expect(NOT_FOUND);
    server
        .cli(&["get", "artifact", "payments-api-1-1-0"])
        .expect(OK);

    server
        .cli(&["artifact", "release-hold", "payments-api", "1.1.0"])
        .expect(OK);
    let resource = server
        .cli(&["get", "artifact", "payments-api-1-1-0", "-o", "json"])
        .expect(OK)
        .json();
    assert!(
        resource["metadata"]["annotations"]["slipway.dev/legal-hold"].is_null(),
        "{resource}"
    );
    server
        .cli(&["artifact", "release-hold", "payments-api", "1.1.0"])
        .expect(CONFLICT);
    let entries = server
        .cli(&["audit", "entries", "--limit", "10000", "-o", "json"])
        .expect(OK)
        .json();
    let hold_entries = entries
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e.to_string().contains("payments-api-1-1-0"))
        .count();
    // Created by the push, annotated by the hold, annotation removed by the release (the log
    // holds the digest of each new content; `get` shows the annotation itself).
    assert_eq!(hold_entries, 3, "holds are in the audit log: {entries}");
}

#[test]
fn a_rollout_of_an_oci_artifact_runs_it() {
    let server = start(&[]);
    let script = format!(
        "#!/bin/sh\nexec {} example-service\n",
        env!("CARGO_BIN_EXE_slipway")
    );
    let file = server.write("payments-api.sh", script.as_bytes());
    let pushed = push(&server, &file, "7.0.0", &[]).expect(OK).json();
    let listen = format!("127.0.0.1:{}", free_port());
    let rollout = server.write(
        "rollout.yaml",
        format!(
            "apiVersion: slipway.dev/v1alpha1\nkind: Rollout\nmetadata: {{name: oci-rollout}}\nspec:\n  service: payments-api\n  environment: staging\n  artifact: payments-api-7-0-0\n  instances: 1\n  listen: \"{listen}\"\n  strategy: {{direct: {{}}}}\n"
        )
        .as_bytes(),
    );
    server.cli(&["apply", "-f", path_str(&rollout)]).expect(OK);
    let status = server.wait_for_rollout_end("oci-rollout");
    assert_eq!(status["phase"], "Promoted", "{status}");
    let reply = Client::anonymous_at(&format!("http://{listen}")).get("/");
    let (code, body) = (reply.status, reply.body);
    assert_eq!(code, 200);
    assert!(body.contains("example-service 7.0.0"), "{body}");
    let copied = server.data_dir().join("work/artifacts").join(
        pushed["layerDigest"]
            .as_str()
            .unwrap()
            .trim_start_matches("sha256:"),
    );
    assert_eq!(std::fs::read_to_string(copied).unwrap(), script);
}

/// The sigstore-conformance `bundle-verify` cases, each run through the real binary offline
/// (no server, no token): a case whose name ends in `_fail` must be refused with exit 7, every
/// other case must verify (exit 0) and name its signer.
#[test]
fn verify_bundle_passes_the_sigstore_conformance_suite() {
    const DEFAULT_IDENTITY: &str = "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main";
    const DEFAULT_ISSUER: &str = "https://token.actions.githubusercontent.com";
    let suite = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/conformance/sigstore/bundle-verify"
    ));
    let scratch = tempfile::tempdir().unwrap();
    let config = scratch.path().join("config.json");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(suite)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.join("bundle.sigstore.json").is_file())
        .collect();
    cases.sort();
    let mut wrong = Vec::new();
    for case in &cases {
        let name = case.file_name().unwrap().to_str().unwrap();
        let artifact = if case.join("artifact").is_file() {
            case.join("artifact")
        } else {
            suite.join("a.txt")
        };
        let mut args: Vec<String> = vec![
            "artifact".into(),
            "verify-bundle".into(),
            "--bundle".into(),
            path_str(&case.join("bundle.sigstore.json")).into(),
            "--artifact".into(),
            path_str(&artifact).into(),
            "-o".into(),
            "json".into(),
        ];
        if case.join("trusted_root.json").is_file() {
            args.extend([
                "--trusted-root".into(),
                path_str(&case.join("trusted_root.json")).into(),
            ]);
        }
        if case.join("key.pub").is_file() {
            args.extend(["--key".into(), path_str(&case.join("key.pub")).into()]);
        } else {
            let read = |file: &str, default: &str| {
                std::fs::read_to_string(case.join(file))
                    .map(|text| text.trim().to_owned())
                    .unwrap_or_else(|_| default.to_owned())
            };
            args.extend([
                "--identity".into(),
                read("identity", DEFAULT_IDENTITY),
                "--issuer".into(),
                read("issuer", DEFAULT_ISSUER),
            ]);
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let run = slipway(&config, &[], &args);
        let expected = if name.ends_with("_fail") {
            VERIFY_FAILED
        } else {
            OK
        };
        if run.code != expected {
            wrong.push(format!("{name}: exit {} ({})", run.code, run.stderr.trim()));
        } else if expected == OK {
            let verified = run.json();
            assert!(verified["signer"]["kind"].is_string(), "{name}: {verified}");
            assert!(verified["artifactSha256"].is_string(), "{name}: {verified}");
        }
    }
    assert_eq!(cases.len(), 70, "the suite has 70 cases");
    assert!(
        wrong.is_empty(),
        "{} of {} cases wrong:\n{}",
        wrong.len(),
        cases.len(),
        wrong.join("\n")
    );

    // The digest form verifies the same bundle without the artifact's bytes.
    let happy = suite.join("bundle-with-sct-with-extensions");
    let artifact = std::fs::read(suite.join("a.txt")).unwrap();
    let digest = format!("sha256:{}", sha256_hex(&artifact));
    slipway(
        &config,
        &[],
        &[
            "artifact",
            "verify-bundle",
            "--bundle",
            path_str(&happy.join("bundle.sigstore.json")),
            "--digest",
            &digest,
            "--trusted-root",
            path_str(&happy.join("trusted_root.json")),
            "--identity",
            DEFAULT_IDENTITY,
            "--issuer",
            DEFAULT_ISSUER,
        ],
    )
    .expect(OK);
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    format!("{:x}", sha2::Sha256::digest(bytes))
}

const OSV: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/conformance/osv"
);

/// A CycloneDX 1.5 SBOM naming one crate.
fn cyclonedx(name: &str, version: &str) -> String {
    serde_json::json!({
        "bomFormat": "CycloneDX", "specVersion": "1.5", "version": 1,
        "components": [{"type": "library", "name": name, "version": version,
                        "purl": format!("pkg:cargo/{name}@{version}"), "licenses": [{"license": {"id": "MIT"}}]}],
    })
    .to_string()
}

type Tuple = (String, String, String, String);

/// `(kind, id, package, version)` of every finding in a `{"findings": [...]}` document.
fn finding_tuples(document: &Value) -> std::collections::BTreeSet<Tuple> {
    document["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let text = |k: &str| f[k].as_str().unwrap().to_owned();
            (text("kind"), text("id"), text("package"), text("version"))
        })
        .collect()
}

/// `slipway scan --lockfile` on every conformance lockfile finds exactly what cargo-audit
/// found (vulnerabilities and warnings, as sets), and exits 1 because vulnerabilities fail the
/// default policy.
#[test]
fn scan_of_a_lockfile_matches_cargo_audit() {
    let scratch = tempfile::tempdir().unwrap();
    let config = scratch.path().join("config.json");
    let osv = Path::new(OSV);
    let mut lockfiles: Vec<PathBuf> = std::fs::read_dir(osv.join("lockfiles"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".Cargo.lock"))
        .collect();
    lockfiles.sort();
    assert!(lockfiles.len() >= 4, "{lockfiles:?}");
    for lockfile in &lockfiles {
        let name = lockfile.file_name().unwrap().to_str().unwrap();
        let stem = name.strip_suffix(".Cargo.lock").unwrap();
        let expected: Value = serde_json::from_slice(
            &std::fs::read(osv.join("expected").join(format!("{stem}.expected.json"))).unwrap(),
        )
        .unwrap();
        let mut wanted = std::collections::BTreeSet::new();
        for v in expected["vulnerabilities"].as_array().unwrap() {
            let text = |k: &str| v[k].as_str().unwrap().to_owned();
            wanted.insert((
                "vulnerability".to_owned(),
                text("id"),
                text("package"),
                text("version"),
            ));
        }
        for w in expected["warnings"].as_array().unwrap() {
            let text = |k: &str| w[k].as_str().unwrap().to_owned();
            wanted.insert((text("kind"), text("id"), text("package"), text("version")));
        }
        let run = slipway(
            &config,
            &[],
            &[
                "scan",
                "--lockfile",
                path_str(lockfile),
                "--osv",
                path_str(&osv.join("advisory-db-osv")),
                "-o",
                "json",
            ],
        );
        assert_eq!(run.code, 1, "{name}: {}", run.stderr);
        assert!(run.stderr.contains("break --fail-on"), "{}", run.stderr);
        let found = finding_tuples(&run.json());
        assert_eq!(
            found.difference(&wanted).collect::<Vec<_>>(),
            Vec::<&Tuple>::new(),
            "{name}: findings cargo-audit does not report"
        );
        assert_eq!(
            wanted.difference(&found).collect::<Vec<_>>(),
            Vec::<&Tuple>::new(),
            "{name}: findings missing"
        );
    }
}

/// `slipway scan --sbom` scans the SBOM's purls; the policy threshold decides the exit code;
/// an imported snapshot in a data dir gives the same result as the OSV directory; an SBOM that
/// breaks its schema is refused with the reason.
#[test]
fn scan_of_an_sbom_finds_a_vulnerable_crate() {
    let scratch = tempfile::tempdir().unwrap();
    let config = scratch.path().join("config.json");
    let osv_dir = Path::new(OSV).join("advisory-db-osv");
    let sbom = scratch.path().join("bom.json");
    std::fs::write(&sbom, cyclonedx("base64", "0.5.1")).unwrap();
    let scan = |extra: &[&str]| {
        let mut args = vec!["scan", "--sbom", path_str(&sbom), "-o", "json"];
        args.extend(extra);
        slipway(&config, &[], &args)
    };
    let failed = scan(&["--osv", path_str(&osv_dir)]);
    assert_eq!(failed.code, 1, "{}", failed.stderr);
    let findings = failed.json();
    assert!(
        finding_tuples(&findings).contains(&(
            "vulnerability".into(),
            "RUSTSEC-2017-0004".into(),
            "base64".into(),
            "0.5.1".into()
        )),
        "{findings}"
    );
    assert_eq!(
        findings["findings"][0]["severity"], "critical",
        "{findings}"
    );
    scan(&["--osv", path_str(&osv_dir), "--fail-on", "never"]).expect(OK);

    let data_dir = scratch.path().join("data");
    let imported = slipway(
        &config,
        &[],
        &[
            "vulndb",
            "import",
            path_str(&osv_dir),
            "--data-dir",
            path_str(&data_dir),
            "-o",
            "json",
        ],
    )
    .expect(OK)
    .json();
    assert_eq!(imported["records"], 1193, "{imported}");
    let from_snapshot = scan(&["--data-dir", path_str(&data_dir)]);
    assert_eq!(from_snapshot.code, 1, "{}", from_snapshot.stderr);
    assert_eq!(from_snapshot.json(), findings);

    std::fs::write(&sbom, cyclonedx("base64", "0.21.0")).unwrap();
    let clean = scan(&["--data-dir", path_str(&data_dir)]).expect(OK).json();
    assert_eq!(clean["findings"], serde_json::json!([]));

    std::fs::write(
        &sbom,
        r#"{"bomFormat": "CycloneDX", "specVersion": "1.5", "version": "one"}"#,
    )
    .unwrap();
    let refused = scan(&["--osv", path_str(&osv_dir)]).expect(INVALID);
    assert!(
        refused.stderr.contains("sbom refused"),
        "{}",
        refused.stderr
    );
    let missing = slipway(
        &config,
        &[],
        &[
            "scan",
            "--lockfile",
            path_str(&sbom),
            "--data-dir",
            path_str(&scratch.path().join("nowhere")),
        ],
    );
    assert_ne!(missing.code, OK, "{}", missing.stderr);
}

/// An environment whose promotion policy requires a signature and nothing above `high`
/// refuses an artifact whose SBOM holds a critical vulnerability (the rollout fails and `gate
/// explain` names the rule and the advisory) and allows a clean one; attachments are validated
/// and the Artifact's `status.supplyChain` follows them; a push from a pipeline carries SLSA
/// provenance signed by the server.
#[test]
fn a_promotion_policy_refuses_a_vulnerable_artifact_and_allows_a_clean_signed_one() {
    let server = start(&[]);
    // The vulnerability database goes to the server as a ZIP of OSV records.
    let archive = server.path("osv.zip");
    let mut zip = zip::ZipWriter::new(File::create(&archive).unwrap());
    let crates_dir = Path::new(OSV).join("advisory-db-osv/crates");
    for entry in std::fs::read_dir(&crates_dir).unwrap() {
        let path = entry.unwrap().path();
        let name = format!("crates/{}", path.file_name().unwrap().to_str().unwrap());
        zip.start_file(name, zip::write::SimpleFileOptions::default())
            .unwrap();
        std::io::Write::write_all(&mut zip, &std::fs::read(&path).unwrap()).unwrap();
    }
    zip.finish().unwrap();
    let imported = server
        .cli(&[
            "vulndb",
            "import",
            path_str(&archive),
            "--remote",
            "-o",
            "json",
        ])
        .expect(OK)
        .json();
    assert_eq!(imported["records"], 1193, "{imported}");
    assert!(server.data_dir().join("vulndb").is_dir());
    let environment = server.write(
        "guarded.yaml",
        b"apiVersion: slipway.dev/v1alpha1\nkind: Environment\nmetadata: {name: guarded}\nspec:\n  tier: staging\n  order: 5\n  promotionPolicy: {requireSignature: true, maxSeverity: high}\n",
    );
    server
        .cli(&["apply", "-f", path_str(&environment)])
        .expect(OK);
    let script = format!(
        "#!/bin/sh\nexec {} example-service\n",
        env!("CARGO_BIN_EXE_slipway")
    );

    let deploy = |version: &str, sbom: &str, pipeline: &[&str]| {
        let file = server.write(&format!("payments-{version}.sh"), script.as_bytes());
        push(&server, &file, version, pipeline).expect(OK);
        let bom = server.write(&format!("bom-{version}.json"), sbom.as_bytes());
        server
            .cli(&[
                "artifact",
                "attach",
                "payments-api",
                version,
                "--type",
                "sbom-cyclonedx",
                path_str(&bom),
            ])
            .expect(OK);
        let resource = format!("payments-api-{}", version.replace('.', "-"));
        let artifact = server
            .cli(&["get", "artifact", &resource, "-o", "json"])
            .expect(OK)
            .json();
        let rollout_name = format!("guarded-{}", version.replace('.', "-"));
        let rollout = server.write(
            &format!("{rollout_name}.yaml"),
            format!(
                "apiVersion: slipway.dev/v1alpha1\nkind: Rollout\nmetadata: {{name: {rollout_name}}}\nspec:\n  service: payments-api\n  environment: guarded\n  artifact: {resource}\n  instances: 1\n  listen: \"127.0.0.1:{}\"\n  strategy: {{direct: {{}}}}\n",
                free_port()
            )
            .as_bytes(),
        );
        server.cli(&["apply", "-f", path_str(&rollout)]).expect(OK);
        (
            artifact,
            server.wait_for_rollout_end(&rollout_name),
            rollout_name,
        )
    };

    // Critical vulnerability: refused, and the gate says which rule and which advisory.
    let (artifact, status, name) = deploy("1.0.0", &cyclonedx("base64", "0.5.1"), &[]);
    let supply = &artifact["status"]["supplyChain"];
    assert_eq!(supply["signed"], true, "{artifact}");
    assert_eq!(supply["scanned"], true, "{artifact}");
    assert_eq!(supply["vulnerabilities"]["critical"], 1, "{artifact}");
    assert_eq!(supply["provenance"], Value::Null, "{artifact}");
    assert_eq!(status["phase"], "Failed", "{status}");
    let explained = server.cli(&["gate", "explain", &name]).expect(OK);
    assert!(
        explained.stdout.contains("✗ supply-chain:vulnerabilities")
            && explained.stdout.contains("RUSTSEC-2017-0004")
            && explained.stdout.contains("✓ supply-chain:signature"),
        "{}",
        explained.stdout
    );

    // Clean and signed, pushed from a pipeline: allowed, with verified provenance.
    let (artifact, status, name) = deploy(
        "2.0.0",
        &cyclonedx("base64", "0.21.0"),
        &["--pipeline-id", "build-42", "--git-sha", GIT_SHA],
    );
    let supply = &artifact["status"]["supplyChain"];
    assert_eq!(supply["vulnerabilities"]["critical"], 0, "{artifact}");
    assert_eq!(supply["provenance"]["verified"], true, "{artifact}");
    assert_eq!(supply["provenance"]["source"], GIT_SHA, "{artifact}");
    assert_eq!(status["phase"], "Promoted", "{status}");
    let explained = server
        .cli(&["gate", "explain", &name, "-o", "json"])
        .expect(OK)
        .json();
    let last = explained["decisions"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["decision"]["verdict"], "allow", "{explained}");
    let referrers = server
        .cli(&[
            "artifact",
            "referrers",
            "payments-api",
            "2.0.0",
            "--type",
            "in-toto",
            "-o",
            "json",
        ])
        .expect(OK)
        .json();
    // The provenance of the push, and the verification summary of the allowing gate.
    let referrers = referrers.as_array().unwrap();
    assert_eq!(referrers.len(), 2, "{referrers:?}");
    assert!(
        referrers.iter().any(|r| {
            r["descriptor"]["annotations"]["dev.slipway.provenance.pipeline-id"] == "build-42"
        }),
        "{referrers:?}"
    );
    assert!(
        referrers
            .iter()
            .any(|r| r["descriptor"]["annotations"]["dev.slipway.vsa.environment"] == "guarded"),
        "{referrers:?}"
    );

    // Attachments are validated: an SBOM breaking its schema and an unverifiable bundle are
    // refused with the reason.
    let broken = server.write(
        "broken.json",
        br#"{"bomFormat": "CycloneDX", "specVersion": "1.5", "version": "one"}"#,
    );
    let refused = server
        .cli(&[
            "artifact",
            "attach",
            "payments-api",
            "2.0.0",
            "--type",
            "sbom-cyclonedx",
            path_str(&broken),
        ])
        .expect(INVALID);
    assert!(
        refused.stderr.contains("sbom refused"),
        "{}",
        refused.stderr
    );
    let bundle = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/conformance/sigstore/bundle-verify/bundle-with-sct-with-extensions/bundle.sigstore.json"
    ));
    let refused = server
        .cli(&[
            "artifact",
            "attach",
            "payments-api",
            "2.0.0",
            "--type",
            "sigstore-bundle",
            path_str(bundle),
        ])
        .expect(INVALID);
    assert!(
        refused.stderr.contains("sigstore bundle refused"),
        "{}",
        refused.stderr
    );
}
