#![allow(clippy::unwrap_used)] // tests fail loudly on unexpected errors
//! The artifact store against real temporary directories: layout shape, immutability,
//! multi-platform, referrers, pull verification, concurrency, holds, retention, garbage
//! collection safety, fsck, and archive round trips.

use slipway_artifacts::oci::{annotations as keys, artifact_types};
use slipway_artifacts::{
    ArtifactError, ArtifactRef, ArtifactStore, Decision, Digest, ImageIndex, ImageManifest,
    Platform, PushOutcome, PushRequest, RetentionDecision, RetentionPolicy,
};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::Path;
use std::time::Duration;

const SHA: &str = "0123456789abcdef0123456789abcdef01234567";

fn store() -> (tempfile::TempDir, ArtifactStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = ArtifactStore::open(dir.path().join("artifacts")).unwrap();
    (dir, store)
}

fn request(service: &str, version: &str, platform: Option<&str>) -> PushRequest {
    let mut r = PushRequest::new(service, version, format!("{service}.bin"));
    r.platform = platform.map(|p| p.parse().unwrap());
    r.git_sha = Some(SHA.into());
    r.pipeline_id = Some("run-7".into());
    r.created = Some(time::macros::datetime!(2026-05-01 12:00 UTC));
    r
}

fn push(
    store: &ArtifactStore,
    service: &str,
    version: &str,
    platform: Option<&str>,
    content: &[u8],
) -> Result<PushOutcome, ArtifactError> {
    store.push(&request(service, version, platform), &mut &content[..])
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> T {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn pull(
    store: &ArtifactStore,
    service: &str,
    version: &str,
    platform: Option<&str>,
) -> Result<Vec<u8>, ArtifactError> {
    let platform: Option<Platform> = platform.map(|p| p.parse().unwrap());
    let (mut reader, _) = store.open_artifact(service, version, platform.as_ref())?;
    let mut content = Vec::new();
    reader.read_to_end(&mut content).unwrap();
    Ok(content)
}

#[test]
fn a_push_writes_an_oci_1_1_artifact_layout() {
    let (_dir, store) = store();
    let pushed = push(
        &store,
        "payments",
        "1.2.0",
        Some("linux/amd64"),
        b"binary v1",
    )
    .unwrap();
    let root = store.root();
    assert_eq!(
        std::fs::read_to_string(root.join("oci-layout")).unwrap(),
        "{\"imageLayoutVersion\":\"1.0.0\"}"
    );

    let top: ImageIndex = read_json(&root.join("index.json"));
    assert_eq!(top.manifests.len(), 1);
    let entry = &top.manifests[0];
    assert_eq!(entry.media_type, "application/vnd.oci.image.index.v1+json");
    assert_eq!(entry.annotations[keys::REF_NAME], "payments:1.2.0");
    assert_eq!(entry.digest, pushed.index.digest);

    let index: ImageIndex = read_json(&root.join("blobs/sha256").join(entry.digest.hex()));
    assert_eq!(index.manifests.len(), 1);
    assert_eq!(
        index.manifests[0].platform,
        Some("linux/amd64".parse().unwrap())
    );
    assert_eq!(index.manifests[0].digest, pushed.manifest.digest);

    let manifest_bytes =
        std::fs::read(root.join("blobs/sha256").join(pushed.manifest.digest.hex())).unwrap();
    assert_eq!(Digest::of(&manifest_bytes), pushed.manifest.digest);
    assert_eq!(manifest_bytes.len() as u64, pushed.manifest.size);
    let manifest: ImageManifest = serde_json::from_slice(&manifest_bytes).unwrap();
    assert_eq!(manifest.schema_version, 2);
    assert_eq!(
        manifest.artifact_type.as_deref(),
        Some("application/vnd.slipway.artifact.v1")
    );
    assert_eq!(
        manifest.config.media_type,
        "application/vnd.oci.empty.v1+json"
    );
    assert_eq!(
        std::fs::read(root.join("blobs/sha256").join(manifest.config.digest.hex())).unwrap(),
        b"{}"
    );
    assert_eq!(manifest.layers.len(), 1);
    let layer = &manifest.layers[0];
    assert_eq!(layer.digest, Digest::of(b"binary v1"));
    assert_eq!(layer.size, 9);
    assert_eq!(layer.media_type, "application/octet-stream");
    assert_eq!(layer.annotations[keys::TITLE], "payments.bin");
    let expected: BTreeMap<&str, &str> = [
        (keys::VERSION, "1.2.0"),
        (keys::REVISION, SHA),
        (keys::CREATED, "2026-05-01T12:00:00Z"),
        (keys::SERVICE, "payments"),
        (keys::PIPELINE_ID, "run-7"),
        (keys::PLATFORM, "linux/amd64"),
    ]
    .into();
    let got: BTreeMap<&str, &str> = manifest
        .annotations
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(got, expected);

    assert_eq!(
        pull(&store, "payments", "1.2.0", Some("linux/amd64")).unwrap(),
        b"binary v1"
    );
    let report = store.verify_layout().unwrap();
    assert!(report.is_ok(), "{report:?}");
    assert_eq!(report.blobs_checked, 4, "layer, config, manifest, index");
    assert!(report.unreferenced.is_empty());
}

#[test]
fn custom_media_types_and_extra_annotations_are_recorded() {
    let (_dir, store) = store();
    let mut r = request("web", "2.0.0", None);
    r.layer_media_type = Some("application/vnd.slipway.bundle.v1.tar+gzip".into());
    r.artifact_type = Some("application/vnd.slipway.bundle.v1".into());
    r.annotations
        .insert("com.example.team".into(), "web".into());
    r.annotations.insert(keys::SERVICE.into(), "spoofed".into());
    let pushed = store.push(&r, &mut &b"tarball"[..]).unwrap();
    assert_eq!(
        pushed.layer.media_type,
        "application/vnd.slipway.bundle.v1.tar+gzip"
    );
    let details = store.inspect("web", "2.0.0").unwrap();
    let manifest = &details.manifests[0].manifest;
    assert_eq!(
        manifest.artifact_type.as_deref(),
        Some("application/vnd.slipway.bundle.v1")
    );
    assert_eq!(manifest.annotations["com.example.team"], "web");
    assert_eq!(
        manifest.annotations[keys::SERVICE],
        "web",
        "reserved annotations cannot be overridden"
    );
}

/// One step of an immutability scenario: push (platform, content) and expect an outcome.
enum Expect {
    Added,
    AlreadyPresent,
    Refused(Vec<String>),
}

fn check_pushes(steps: &[(Option<&str>, &[u8], Expect)]) -> (tempfile::TempDir, ArtifactStore) {
    let (dir, store) = store();
    let mut by_platform: BTreeMap<Option<&str>, PushOutcome> = BTreeMap::new();
    for (i, (platform, content, expect)) in steps.iter().enumerate() {
        let got = push(&store, "payments", "1.2.0", *platform, content);
        match (expect, got) {
            (Expect::Added, Ok(outcome)) => {
                assert!(!outcome.already_present, "step {i}");
                by_platform.insert(*platform, outcome);
            }
            (Expect::AlreadyPresent, Ok(outcome)) => {
                assert!(outcome.already_present, "step {i}");
                let first = &by_platform[platform];
                assert_eq!(
                    outcome.manifest, first.manifest,
                    "step {i}: same digest as the first push"
                );
                assert_eq!(outcome.layer.digest, first.layer.digest, "step {i}");
            }
            (Expect::Refused(parts), Err(e)) => {
                let message = e.to_string();
                for part in parts {
                    assert!(
                        message.contains(part.as_str()),
                        "step {i}: {message:?} should contain {part:?}"
                    );
                }
            }
            (_, got) => panic!("step {i}: unexpected {got:?}"),
        }
        let stored: Vec<_> = by_platform.keys().map(|p| p.map(str::to_owned)).collect();
        let listed: Vec<_> = store.ls(Some("payments")).unwrap()[0]
            .variants
            .iter()
            .map(|v| v.platform.as_ref().map(Platform::to_string))
            .collect();
        assert_eq!(
            listed.len(),
            stored.len(),
            "step {i}: no refused push changes the index"
        );
    }
    (dir, store)
}

#[test]
fn artifacts_are_immutable_except_for_new_platforms() {
    let refused = |parts: &[&str]| Expect::Refused(parts.iter().map(|p| (*p).to_owned()).collect());
    let old = Digest::of(b"v1 amd64").to_string();
    let new = Digest::of(b"v1 amd64 rebuilt").to_string();
    check_pushes(&[
        (Some("linux/amd64"), b"v1 amd64", Expect::Added),
        (Some("linux/amd64"), b"v1 amd64", Expect::AlreadyPresent),
        (
            Some("linux/amd64"),
            b"v1 amd64 rebuilt",
            refused(&["payments:1.2.0", "(linux/amd64)", &old, &new, "immutable"]),
        ),
        (Some("linux/arm64"), b"v1 arm64", Expect::Added),
        (Some("linux/arm64"), b"v1 arm64", Expect::AlreadyPresent),
        (
            Some("linux/arm64"),
            b"v1 amd64",
            refused(&["payments:1.2.0", "(linux/arm64)"]),
        ),
        (
            None,
            b"portable",
            refused(&[
                "pushed for linux/",
                "a variant without a platform cannot be added",
            ]),
        ),
    ]);
    check_pushes(&[
        (None, b"portable", Expect::Added),
        (None, b"portable", Expect::AlreadyPresent),
        (
            None,
            b"other",
            refused(&["payments:1.2.0 (no platform) already exists"]),
        ),
        (
            Some("linux/amd64"),
            b"x",
            refused(&[
                "pushed without a platform",
                "for linux/amd64 cannot be added",
            ]),
        ),
    ]);
}

#[test]
fn a_signed_index_takes_no_new_platform() {
    let (_dir, store) = store();
    let pushed = push(&store, "payments", "1.0.0", Some("linux/amd64"), b"a").unwrap();
    store
        .attach(
            &pushed.index.digest,
            artifact_types::SLIPWAY_SIGNATURE,
            b"{\"sig\":1}",
            BTreeMap::new(),
        )
        .unwrap();
    let err = push(&store, "payments", "1.0.0", Some("linux/arm64"), b"b").unwrap_err();
    assert!(
        matches!(err, ArtifactError::Sealed { referrers: 1, .. }),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("adding platform linux/arm64 would change the index"),
        "{err}"
    );
    // Re-pushing the existing platform is still a no-op.
    assert!(
        push(&store, "payments", "1.0.0", Some("linux/amd64"), b"a")
            .unwrap()
            .already_present
    );
}

#[test]
fn invalid_requests_are_refused_before_anything_is_stored() {
    let (_dir, store) = store();
    let err = push(&store, "pay/ments", "1 0", None, b"x").unwrap_err();
    let message = err.to_string();
    assert!(
        message.starts_with("artifact pay/ments:1 0: service name"),
        "{message}"
    );
    assert!(message.contains("version \"1 0\""), "{message}");
    assert!(store.ls(None).unwrap().is_empty());
}

#[test]
fn pull_chooses_the_platform_and_verifies_content() {
    let (_dir, store) = store();
    push(&store, "api", "1.0.0", Some("linux/amd64"), b"amd").unwrap();
    push(&store, "api", "1.0.0", Some("linux/arm64/v8"), b"arm").unwrap();
    push(&store, "cli", "1.0.0", None, b"portable").unwrap();

    assert_eq!(
        pull(&store, "api", "1.0.0", Some("linux/arm64/v8")).unwrap(),
        b"arm"
    );
    assert_eq!(
        pull(&store, "api", "1.0.0", Some("linux/amd64")).unwrap(),
        b"amd"
    );
    let err = pull(&store, "api", "1.0.0", None).unwrap_err();
    assert_eq!(
        err.to_string(),
        "artifact api:1.0.0 has several platforms (linux/amd64, linux/arm64/v8): choose one with --platform"
    );
    let err = pull(&store, "api", "1.0.0", Some("windows/amd64")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "platform windows/amd64 of artifact api:1.0.0 (it has: linux/amd64, linux/arm64/v8) not found"
    );
    assert_eq!(
        pull(&store, "cli", "1.0.0", Some("darwin/arm64")).unwrap(),
        b"portable",
        "a platform-independent file serves any platform"
    );
    assert_eq!(pull(&store, "cli", "1.0.0", None).unwrap(), b"portable");
    assert_eq!(
        pull(&store, "cli", "9.9.9", None).unwrap_err().to_string(),
        "artifact cli:9.9.9 not found"
    );

    let (_, opened) = store.open_artifact("cli", "1.0.0", None).unwrap();
    assert_eq!(opened.file_name.as_deref(), Some("cli.bin"));
    assert_eq!(opened.annotations[keys::REVISION], SHA);

    // Corrupt the stored file: the reader fails at its end, naming the blob.
    let layer = Digest::of(b"portable");
    std::fs::write(
        store.root().join("blobs/sha256").join(layer.hex()),
        b"tampered",
    )
    .unwrap();
    let (mut reader, _) = store.open_artifact("cli", "1.0.0", None).unwrap();
    let err = reader.read_to_end(&mut Vec::new()).unwrap_err();
    assert!(
        err.to_string()
            .contains(&format!("blob {layer} is corrupt")),
        "{err}"
    );
    let mut raw = store.read_blob(&layer).unwrap();
    assert!(raw.read_to_end(&mut Vec::new()).is_err());
}

#[test]
fn referrers_are_indexed_by_subject_and_type() {
    let (_dir, store) = store();
    let pushed = push(&store, "api", "1.0.0", Some("linux/amd64"), b"amd").unwrap();
    let subject = &pushed.manifest.digest;
    let annotations: BTreeMap<String, String> =
        [("dev.slipway.signer".to_owned(), "ci".to_owned())].into();
    let sbom = store
        .attach(
            subject,
            artifact_types::CYCLONEDX,
            b"{\"bomFormat\":\"CycloneDX\"}",
            BTreeMap::new(),
        )
        .unwrap();
    let signature = store
        .attach(
            subject,
            artifact_types::SIGSTORE_BUNDLE,
            b"{\"bundle\":1}",
            annotations.clone(),
        )
        .unwrap();
    let again = store
        .attach(
            subject,
            artifact_types::SIGSTORE_BUNDLE,
            b"{\"bundle\":1}",
            signature.annotations.clone(),
        )
        .unwrap();
    assert_eq!(
        again, signature,
        "attaching the same document twice is idempotent"
    );
    assert_eq!(signature.annotations["dev.slipway.signer"], "ci");
    assert_eq!(
        signature.artifact_type.as_deref(),
        Some(artifact_types::SIGSTORE_BUNDLE)
    );

    let all = store.referrers(subject, None).unwrap();
    assert_eq!(all, vec![sbom.clone(), signature.clone()]);
    assert!(
        all.iter()
            .all(|d| !d.annotations.contains_key(keys::REFERRER_SUBJECT))
    );
    assert_eq!(
        store
            .referrers(subject, Some(artifact_types::CYCLONEDX))
            .unwrap(),
        vec![sbom.clone()]
    );
    assert!(
        store
            .referrers(subject, Some(artifact_types::SARIF))
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .referrers(&pushed.index.digest, None)
            .unwrap()
            .is_empty()
    );

    // A signature of the SBOM: a referrer of a referrer.
    let sbom_signature = store
        .attach(
            &sbom.digest,
            artifact_types::SLIPWAY_SIGNATURE,
            b"{\"sig\":2}",
            BTreeMap::new(),
        )
        .unwrap();
    assert_eq!(
        store.referrers(&sbom.digest, None).unwrap(),
        vec![sbom_signature]
    );

    let (manifest, content) = store.read_referrer(&sbom.digest).unwrap();
    assert_eq!(content, b"{\"bomFormat\":\"CycloneDX\"}");
    let subject_descriptor = manifest.subject.unwrap();
    assert_eq!(
        (&subject_descriptor.digest, subject_descriptor.size),
        (subject, pushed.manifest.size)
    );
    assert_eq!(
        subject_descriptor.media_type,
        "application/vnd.oci.image.manifest.v1+json"
    );

    let details = store.inspect("api", "1.0.0").unwrap();
    assert_eq!(details.manifests[0].referrers, vec![sbom, signature]);

    let unknown = Digest::of(b"nothing");
    let err = store
        .attach(&unknown, artifact_types::SARIF, b"{}", BTreeMap::new())
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("manifest {unknown} (the subject) in the artifact store not found")
    );
    let layer = pushed.layer.digest;
    assert!(
        store
            .attach(&layer, artifact_types::SARIF, b"{}", BTreeMap::new())
            .is_err(),
        "a layer is no subject"
    );
    let err = store
        .attach(subject, "sarif", b"{}", BTreeMap::new())
        .unwrap_err();
    assert!(err.to_string().contains("is not a media type"), "{err}");
    assert!(store.verify_layout().unwrap().is_ok());
}

#[test]
fn concurrent_pushes_keep_every_artifact() {
    let (_dir, store) = store();
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let store = store.clone();
            std::thread::spawn(move || {
                for i in 0..5 {
                    let version = format!("1.{t}.{i}");
                    let content = format!("build {t} {i}").repeat(1000);
                    push(
                        &store,
                        "api",
                        &version,
                        Some("linux/amd64"),
                        content.as_bytes(),
                    )
                    .unwrap();
                    // Two threads add platforms to the same version at once.
                    let arch = if t % 2 == 0 { "arm64" } else { "riscv64" };
                    push(
                        &store,
                        "shared",
                        &format!("1.{}.{i}", t / 2),
                        Some(&format!("linux/{arch}")),
                        content.as_bytes(),
                    )
                    .unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let api = store.ls(Some("api")).unwrap();
    assert_eq!(api.len(), 40);
    let shared = store.ls(Some("shared")).unwrap();
    assert_eq!(shared.len(), 20);
    for s in &shared {
        assert_eq!(
            s.variants.len(),
            2,
            "{}: both platforms survived",
            s.version
        );
    }
    let report = store.verify_layout().unwrap();
    assert!(report.is_ok(), "{report:?}");
}

#[test]
fn holds_persist_and_block_deletion() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("artifacts");
    let store = ArtifactStore::open(&root).unwrap();
    push(&store, "api", "1.0.0", None, b"one").unwrap();
    let hold = store.hold("api", "1.0.0", "case 2026-17", "alice").unwrap();
    assert_eq!(
        store
            .hold("api", "9.0.0", "x", "alice")
            .unwrap_err()
            .to_string(),
        "artifact api:9.0.0 not found"
    );
    assert!(
        store
            .hold("api", "1.0.0", "again", "bob")
            .unwrap_err()
            .to_string()
            .contains("already under legal hold")
    );

    let reopened = ArtifactStore::open(&root).unwrap();
    assert_eq!(reopened.holds().unwrap().holds, vec![hold.clone()]);
    assert_eq!(reopened.ls(None).unwrap()[0].hold.as_ref(), Some(&hold));

    let plan = vec![delete("api", "1.0.0")];
    let report = reopened.apply_retention(&plan, false).unwrap();
    assert_eq!(
        report.kept_under_hold,
        vec![ArtifactRef::new("api", "1.0.0")]
    );
    assert!(report.deleted.is_empty());
    assert_eq!(pull(&reopened, "api", "1.0.0", None).unwrap(), b"one");

    assert_eq!(reopened.release_hold("api", "1.0.0").unwrap(), hold);
    let report = reopened.apply_retention(&plan, false).unwrap();
    assert_eq!(report.deleted, vec![ArtifactRef::new("api", "1.0.0")]);
    assert!(reopened.ls(None).unwrap().is_empty());
}

fn delete(service: &str, version: &str) -> RetentionDecision {
    RetentionDecision {
        service: service.into(),
        version: version.into(),
        decision: Decision::Delete,
        reasons: vec!["test".into()],
    }
}

fn blob_count(store: &ArtifactStore) -> usize {
    std::fs::read_dir(store.root().join("blobs/sha256"))
        .unwrap()
        .count()
}

#[test]
fn garbage_collection_never_removes_a_blob_still_referenced() {
    let (_dir, store) = store();
    // Two versions with the same file: one shared layer blob.
    let a = push(&store, "api", "1.0.0", None, b"same bytes").unwrap();
    let b = push(&store, "api", "1.0.1", None, b"same bytes").unwrap();
    assert_eq!(a.layer.digest, b.layer.digest);
    let gone = store
        .attach(
            &a.manifest.digest,
            artifact_types::SPDX,
            b"{\"spdx\":\"a\"}",
            BTreeMap::new(),
        )
        .unwrap();
    let gone_sig = store
        .attach(
            &gone.digest,
            artifact_types::SLIPWAY_SIGNATURE,
            b"{\"sig\":\"a\"}",
            BTreeMap::new(),
        )
        .unwrap();
    let kept = store
        .attach(
            &b.manifest.digest,
            artifact_types::SPDX,
            b"{\"spdx\":\"b\"}",
            BTreeMap::new(),
        )
        .unwrap();
    // A blob nothing references, and a leftover of an interrupted push.
    let (orphan, _) = {
        let content = b"orphan";
        let path = store
            .root()
            .join("blobs/sha256")
            .join(Digest::of(content).hex());
        std::fs::write(&path, content).unwrap();
        (Digest::of(content), path)
    };
    std::fs::write(store.root().join(".tmp/ingest-leftover"), b"partial").unwrap();
    let before = blob_count(&store);

    let dry = store
        .apply_retention(&[delete("api", "1.0.0")], true)
        .unwrap();
    assert_eq!(dry.deleted, vec![ArtifactRef::new("api", "1.0.0")]);
    assert_eq!(blob_count(&store), before, "a dry run removes nothing");
    assert_eq!(
        store.ls(None).unwrap().len(),
        2,
        "a dry run keeps index.json"
    );

    let report = store
        .apply_retention(&[delete("api", "1.0.0"), delete("api", "7.7.7")], false)
        .unwrap();
    assert_eq!(report.gc, dry.gc.clone().with_dry_run(false));
    assert_eq!(report.not_found, vec![ArtifactRef::new("api", "7.7.7")]);
    let removed: BTreeSet<_> = report.gc.removed_blobs.iter().cloned().collect();
    assert!(removed.contains(&orphan));
    assert!(removed.contains(&a.manifest.digest));
    assert!(removed.contains(&a.index.digest));
    assert!(removed.contains(&gone.digest) && removed.contains(&gone_sig.digest));
    assert!(
        !removed.contains(&a.layer.digest),
        "the layer is shared with 1.0.1"
    );
    assert!(!removed.contains(&kept.digest));
    assert_eq!(
        report.gc.dropped_referrers.iter().collect::<BTreeSet<_>>(),
        [&gone.digest, &gone_sig.digest].into()
    );
    assert!(!store.root().join(".tmp/ingest-leftover").exists());

    assert_eq!(pull(&store, "api", "1.0.1", None).unwrap(), b"same bytes");
    assert_eq!(
        store.referrers(&b.manifest.digest, None).unwrap(),
        vec![kept.clone()]
    );
    assert!(
        store
            .referrers(&a.manifest.digest, None)
            .unwrap()
            .is_empty()
    );
    let fsck = store.verify_layout().unwrap();
    assert!(fsck.is_ok() && fsck.unreferenced.is_empty(), "{fsck:?}");

    // Nothing more to collect; then deleting the last user frees the layer.
    assert!(
        store
            .collect_garbage(false)
            .unwrap()
            .removed_blobs
            .is_empty()
    );
    let report = store
        .apply_retention(&[delete("api", "1.0.1")], false)
        .unwrap();
    assert!(report.gc.removed_blobs.contains(&b.layer.digest));
    assert!(report.gc.removed_blobs.contains(&kept.digest));
    assert_eq!(
        blob_count(&store),
        0,
        "even the empty config goes once nothing uses it"
    );
}

trait WithDryRun {
    fn with_dry_run(self, dry_run: bool) -> Self;
}
impl WithDryRun for slipway_artifacts::GcReport {
    fn with_dry_run(mut self, dry_run: bool) -> Self {
        self.dry_run = dry_run;
        self
    }
}

#[test]
fn garbage_collection_stops_when_a_manifest_is_unreadable() {
    let (_dir, store) = store();
    let a = push(&store, "api", "1.0.0", None, b"content").unwrap();
    std::fs::write(
        store
            .root()
            .join("blobs/sha256")
            .join(a.manifest.digest.hex()),
        b"garbage",
    )
    .unwrap();
    let err = store.collect_garbage(false).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("garbage collection stopped: 1 manifest(s) cannot be read"),
        "{err}"
    );
    assert!(
        store
            .root()
            .join("blobs/sha256")
            .join(a.layer.digest.hex())
            .exists()
    );
}

#[test]
fn verify_layout_finds_corrupt_missing_and_stray_files() {
    let (_dir, store) = store();
    let a = push(&store, "api", "1.0.0", None, b"content a").unwrap();
    let b = push(&store, "web", "1.0.0", None, b"content b").unwrap();
    let blobs = store.root().join("blobs/sha256");
    std::fs::write(blobs.join(a.layer.digest.hex()), b"content A").unwrap();
    std::fs::remove_file(blobs.join(b.layer.digest.hex())).unwrap();
    std::fs::write(blobs.join("notes.txt"), b"?").unwrap();
    let report = store.verify_layout().unwrap();
    assert!(!report.is_ok());
    assert_eq!(report.corrupt.len(), 1);
    assert_eq!(report.corrupt[0].digest, a.layer.digest);
    assert!(
        report.corrupt[0]
            .problem
            .contains(&format!("hashes to {}", Digest::of(b"content A"))),
        "{:?}",
        report.corrupt
    );
    assert_eq!(report.missing, vec![b.layer.digest]);
    assert_eq!(report.stray_files, vec!["notes.txt".to_owned()]);
}

#[test]
fn retention_over_the_store_keeps_deployed_held_and_recent_versions() {
    let (_dir, store) = store();
    let day = |d: u8| {
        let mut r = request("api", &format!("1.{d}.0"), None);
        r.created =
            Some(time::macros::datetime!(2026-01-01 00:00 UTC) + time::Duration::days(d.into()));
        r
    };
    for d in 0..6 {
        store
            .push(&day(d), &mut format!("build {d}").as_bytes())
            .unwrap();
    }
    store.hold("api", "1.0.0", "litigation", "legal").unwrap();
    let policy = RetentionPolicy {
        keep_last_per_service: 2,
        keep_newer_than: Duration::from_secs(86_400),
        ..RetentionPolicy::default()
    };
    let now = time::macros::datetime!(2026-03-01 00:00 UTC);
    let deployed: BTreeSet<_> = [ArtifactRef::new("api", "1.1.0")].into();
    let window: BTreeSet<_> = [ArtifactRef::new("api", "1.2.0")].into();
    let plan = store
        .plan_retention(&policy, now, &deployed, &window)
        .unwrap();
    let decisions: Vec<_> = plan
        .iter()
        .map(|d| (d.version.as_str(), d.decision))
        .collect();
    assert_eq!(
        decisions,
        vec![
            ("1.5.0", Decision::Keep),
            ("1.4.0", Decision::Keep),
            ("1.3.0", Decision::Delete),
            ("1.2.0", Decision::Keep),
            ("1.1.0", Decision::Keep),
            ("1.0.0", Decision::Keep),
        ]
    );
    let report = store.apply_retention(&plan, false).unwrap();
    assert_eq!(report.deleted, vec![ArtifactRef::new("api", "1.3.0")]);
    let left: Vec<_> = store
        .ls(None)
        .unwrap()
        .into_iter()
        .map(|s| s.version)
        .collect();
    assert_eq!(left, ["1.0.0", "1.1.0", "1.2.0", "1.4.0", "1.5.0"]);
}

#[test]
fn archives_round_trip_with_referrers_and_metadata() {
    let (dir, source) = store();
    let a = push(&source, "api", "1.0.0", Some("linux/amd64"), b"amd").unwrap();
    push(&source, "api", "1.0.0", Some("linux/arm64"), b"arm").unwrap();
    push(&source, "api", "2.0.0", None, b"not exported").unwrap();
    push(&source, "web", "3.0.0", None, b"web").unwrap();
    let sbom = source
        .attach(
            &a.manifest.digest,
            artifact_types::CYCLONEDX,
            b"{\"sbom\":1}",
            BTreeMap::new(),
        )
        .unwrap();
    let sig = source
        .attach(
            &sbom.digest,
            artifact_types::SLIPWAY_SIGNATURE,
            b"{\"sig\":1}",
            BTreeMap::new(),
        )
        .unwrap();

    let archive = dir.path().join("export.tar");
    let selection = [
        ArtifactRef::new("api", "1.0.0"),
        ArtifactRef::new("web", "3.0.0"),
    ];
    let exported = source.export_archive(&selection, &archive).unwrap();
    assert_eq!(exported.artifacts, selection);
    assert_eq!(exported.referrers, 2);

    let (_dir2, target) = store();
    let imported = target.import_archive(&archive).unwrap();
    assert_eq!(imported.imported, selection);
    assert_eq!(imported.referrers_added, 2);
    assert_eq!(imported.blobs_added, exported.blobs);
    for r in &selection {
        let (from, to) = (
            source.inspect(&r.service, &r.version).unwrap(),
            target.inspect(&r.service, &r.version).unwrap(),
        );
        assert_eq!(
            from, to,
            "{r}: same digests, manifests, annotations and referrers"
        );
    }
    assert_eq!(target.referrers(&sbom.digest, None).unwrap(), vec![sig]);
    assert_eq!(
        pull(&target, "api", "1.0.0", Some("linux/arm64")).unwrap(),
        b"arm"
    );
    assert!(matches!(
        target.inspect("api", "2.0.0"),
        Err(ArtifactError::NotFound(_))
    ));
    let fsck = target.verify_layout().unwrap();
    assert!(
        fsck.is_ok() && fsck.unreferenced.is_empty(),
        "only the selection's blobs: {fsck:?}"
    );

    let again = target.import_archive(&archive).unwrap();
    assert_eq!(again.already_present, selection);
    assert_eq!(
        (
            again.imported.len(),
            again.referrers_added,
            again.blobs_added
        ),
        (0, 0, 0)
    );

    // A store where api:1.0.0/linux/amd64 holds other content refuses the archive.
    let (_dir3, other) = store();
    push(&other, "api", "1.0.0", Some("linux/amd64"), b"different").unwrap();
    let err = other.import_archive(&archive).unwrap_err();
    assert!(
        err.to_string().contains("already exists with content"),
        "{err}"
    );
    assert_eq!(other.ls(None).unwrap().len(), 1, "nothing imported");
}

/// A tar entry: name and content.
type TarEntry<'a> = (&'a str, &'a [u8]);

fn tar_with(entries: &[TarEntry]) -> tempfile::NamedTempFile {
    let file = tempfile::NamedTempFile::new().unwrap();
    let mut builder = tar::Builder::new(file.reopen().unwrap());
    for (name, content) in entries {
        let mut header = tar::Header::new_gnu();
        header.set_size(content.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        builder
            .append_data(&mut header, name, *content)
            .unwrap_or_else(|_| {
                // Names the tar crate refuses to write (`..`) are written raw.
                header.as_gnu_mut().unwrap().name[..name.len()].copy_from_slice(name.as_bytes());
                header.set_cksum();
                builder.append(&header, *content).unwrap();
            });
    }
    builder.finish().unwrap();
    file
}

#[test]
fn hostile_or_broken_archives_are_refused() {
    let layout = b"{\"imageLayoutVersion\":\"1.0.0\"}";
    let index = serde_json::to_vec(&ImageIndex::empty()).unwrap();
    let blob = b"hello";
    let good_name = format!("blobs/sha256/{}", Digest::of(blob).hex());
    let wrong_name = format!("blobs/sha256/{}", Digest::of(b"other").hex());
    let cases: Vec<(Vec<TarEntry>, &str)> = vec![
        (
            vec![
                ("oci-layout", layout),
                ("index.json", &index),
                ("../evil", b"x"),
            ],
            "unexpected entry \"../evil\"",
        ),
        (
            vec![
                ("oci-layout", layout),
                ("index.json", &index),
                ("blobs/sha256/xyz", b"x"),
            ],
            "unexpected entry \"blobs/sha256/xyz\"",
        ),
        (
            vec![
                ("oci-layout", layout),
                ("index.json", &index),
                (&wrong_name, blob),
            ],
            "hashes to",
        ),
        (
            vec![("index.json", &index), (&good_name, blob)],
            "it has no oci-layout file",
        ),
        (
            vec![
                ("oci-layout", b"{\"imageLayoutVersion\":\"9\"}"),
                ("index.json", &index),
            ],
            "not supported",
        ),
        (vec![("oci-layout", layout)], "it has no index.json"),
    ];
    for (entries, expected) in cases {
        let (_dir, store) = store();
        let archive = tar_with(&entries);
        let err = store
            .import_archive(archive.path())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(expected),
            "{err:?} should contain {expected:?}"
        );
        assert!(store.ls(None).unwrap().is_empty());
        assert!(!store.root().parent().unwrap().join("evil").exists());
    }

    // An index entry whose blobs are not in the archive.
    let (_dir, source) = store();
    let pushed = push(&source, "api", "1.0.0", None, b"x").unwrap();
    let mut top = ImageIndex::empty();
    top.manifests.push(pushed.index.clone());
    let top = serde_json::to_vec(&top).unwrap();
    let archive = tar_with(&[("oci-layout", layout), ("index.json", &top)]);
    let (_dir, target) = store();
    let err = target
        .import_archive(archive.path())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(&format!(
            "it is incomplete: blob {} is neither in it nor in the store",
            pushed.index.digest
        )),
        "{err}"
    );
}
