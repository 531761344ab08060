//! Artifacts held in the artifact store: an `oci:<service>:<version>` location becomes the
//! version's file for this host's platform, copied once (verified against its digest as it is
//! read) to `<cache>/<digest-hex>` with mode 0755, and checked again whenever it is reused.
//!
//! The Artifact resource's `digest` is the digest of the version's OCI image index; it must be
//! the store's current one, which names the manifests and, through them, the file copied.
//! Blocking file I/O: call from `spawn_blocking`.

use slipway_artifacts::{ArtifactStore, Digest, Platform};
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// The prefix of a location in the artifact store.
pub const OCI_PREFIX: &str = "oci:";

/// `(service, version)` of an `oci:<service>:<version>` location.
pub fn parse_oci_location(location: &str) -> Option<(&str, &str)> {
    let (service, version) = location.strip_prefix(OCI_PREFIX)?.split_once(':')?;
    (!service.is_empty() && !version.is_empty()).then_some((service, version))
}

/// This host's platform in OCI words (`linux/amd64`, `linux/arm64`, `darwin/arm64`...).
pub fn host_platform() -> Platform {
    let os = match std::env::consts::OS {
        "macos" => "darwin",
        other => other,
    };
    let architecture = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "powerpc64" => "ppc64le",
        other => other,
    };
    Platform {
        os: os.to_owned(),
        architecture: architecture.to_owned(),
        variant: None,
    }
}

/// The file of `service:version` for this host, copied into `cache` (once), after checking the
/// version's index digest against `expected_index` when one is given.
pub fn materialize(
    store: &ArtifactStore,
    service: &str,
    version: &str,
    expected_index: Option<&str>,
    cache: &Path,
) -> Result<PathBuf, String> {
    if let Some(expected) = expected_index {
        let actual = store
            .inspect(service, version)
            .map_err(|e| e.to_string())?
            .summary
            .digest;
        if actual.as_str() != expected {
            return Err(format!(
                "the artifact store holds {service}:{version} as {actual}, not {expected}: refusing to run it"
            ));
        }
    }
    let (mut reader, opened) = store
        .open_artifact(service, version, Some(&host_platform()))
        .map_err(|e| e.to_string())?;
    let target = cache.join(opened.layer.digest.hex());
    if target.exists() {
        if file_digest(&target).as_ref() == Ok(&opened.layer.digest) {
            return Ok(target);
        }
        std::fs::remove_file(&target)
            .map_err(|e| format!("could not replace {}: {e}", target.display()))?;
    }
    std::fs::create_dir_all(cache)
        .map_err(|e| format!("could not create {}: {e}", cache.display()))?;
    let mut temp = tempfile::Builder::new()
        .prefix(".copy-")
        .tempfile_in(cache)
        .map_err(|e| format!("could not create a file in {}: {e}", cache.display()))?;
    let copied = std::io::copy(&mut reader, temp.as_file_mut())
        .and_then(|_| temp.as_file_mut().flush())
        .and_then(|()| temp.as_file().sync_all())
        .and_then(|()| {
            temp.as_file()
                .set_permissions(std::fs::Permissions::from_mode(0o755))
        });
    copied.map_err(|e| {
        format!(
            "could not copy {service}:{version} ({}) out of the artifact store: {e}",
            opened.layer.digest
        )
    })?;
    temp.persist(&target)
        .map_err(|e| format!("could not write {}: {}", target.display(), e.error))?;
    Ok(target)
}

/// The SHA-256 of a file.
fn file_digest(path: &Path) -> Result<Digest, String> {
    let mut file = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let (digest, _) = slipway_artifacts::digest::hash_reader(&mut file)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(digest)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // tests fail loudly on unexpected errors
    use super::*;
    use slipway_artifacts::PushRequest;

    #[test]
    fn locations_name_a_service_and_a_version() {
        assert_eq!(
            parse_oci_location("oci:payments:1.2.0"),
            Some(("payments", "1.2.0"))
        );
        assert_eq!(parse_oci_location("oci:payments"), None);
        assert_eq!(parse_oci_location("oci::1.0.0"), None);
        assert_eq!(parse_oci_location("/usr/bin/payments"), None);
    }

    #[test]
    fn the_file_is_copied_once_executable_and_replaced_when_tampered_with() {
        let dir = tempfile::tempdir().unwrap();
        let store = ArtifactStore::open(dir.path().join("store")).unwrap();
        let pushed = store
            .push(
                &PushRequest::new("payments", "1.0.0", "run.sh"),
                &mut &b"#!/bin/sh\necho hi\n"[..],
            )
            .unwrap();
        let cache = dir.path().join("cache");
        let index = pushed.index.digest.to_string();
        let path = materialize(&store, "payments", "1.0.0", Some(&index), &cache).unwrap();
        assert_eq!(path, cache.join(pushed.layer.digest.hex()));
        assert_eq!(std::fs::read(&path).unwrap(), b"#!/bin/sh\necho hi\n");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o755);

        std::fs::write(&path, b"tampered").unwrap();
        let again = materialize(&store, "payments", "1.0.0", None, &cache).unwrap();
        assert_eq!(std::fs::read(again).unwrap(), b"#!/bin/sh\necho hi\n");

        let wrong = Digest::of(b"something else").to_string();
        let e = materialize(&store, "payments", "1.0.0", Some(&wrong), &cache).unwrap_err();
        assert!(e.contains("refusing to run it"), "{e}");
        let e = materialize(&store, "payments", "9.9.9", None, &cache).unwrap_err();
        assert!(e.contains("not found"), "{e}");
    }
}
