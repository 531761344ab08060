//! What an artifact runs: a file location used as it is (its digest checked when asked), or an
//! `oci:` location copied out of the artifact store ([`crate::oci_program`]); and the artifact
//! of a version that runs already, to start more of its instances.

use crate::rollout::{Engine, route_key};
use slipway_domain::kinds::{ArtifactSpec, RolloutSpec, typed};
use std::path::{Path, PathBuf};

impl Engine {
    /// The program an artifact runs. A file location is used as it is (its digest checked when
    /// `verify` is set); an `oci:` location is copied out of the artifact store, checked
    /// against the resource's digest (the version's index digest) and the file's own digest.
    pub(crate) async fn program_of(
        &self,
        artifact: &ArtifactSpec,
        verify: bool,
    ) -> Result<PathBuf, String> {
        let Some((service, version)) = crate::oci_program::parse_oci_location(&artifact.location)
        else {
            let program = PathBuf::from(self.resolve(&artifact.location));
            if verify && let Some(digest) = &artifact.digest {
                verify_digest(&program, digest)?;
            }
            return Ok(program);
        };
        let Some((store, cache)) = self.artifact_store.clone() else {
            return Err(format!(
                "its location {} is in the artifact store, which this engine has not been given",
                artifact.location
            ));
        };
        let (service, version) = (service.to_owned(), version.to_owned());
        let expected = artifact.digest.clone();
        tokio::task::spawn_blocking(move || {
            crate::oci_program::materialize(&store, &service, &version, expected.as_deref(), &cache)
        })
        .await
        .map_err(|e| format!("copying it out of the artifact store failed: {e}"))?
    }

    /// The artifact and program of the version currently promoted for `key` (from the latest
    /// promoted rollout of that version), to start more of its instances.
    pub(crate) async fn restore_artifact(
        &self,
        key: &str,
        version: &str,
    ) -> Option<(ArtifactSpec, PathBuf)> {
        for r in self.store().list("Rollout").await.ok()? {
            let Some(spec) = typed::<RolloutSpec>(&r.spec) else {
                continue;
            };
            if route_key(&spec.service, &spec.environment) != key {
                continue;
            }
            let found = self
                .store()
                .get("Artifact", &spec.artifact)
                .await
                .ok()
                .flatten();
            let Some(a) = found.and_then(|a| typed::<ArtifactSpec>(&a.spec)) else {
                continue;
            };
            if a.version == version {
                let program = self.program_of(&a, false).await.ok()?;
                return Some((a, program));
            }
        }
        None
    }
}

/// Checks the file's SHA-256 against `sha256:<hex>`.
fn verify_digest(path: &Path, expected: &str) -> Result<(), String> {
    use sha2::{Digest, Sha256};
    use std::io::Read;
    let mut file = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file
            .read(&mut buf)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        if n == 0 {
            break;
        }
        hasher.update(buf.get(..n).unwrap_or_default());
    }
    let actual = format!("sha256:{}", hex::encode(hasher.finalize()));
    if actual == expected {
        Ok(())
    } else {
        Err(format!(
            "{} has digest {actual}, not {expected}: refusing to run it",
            path.display()
        ))
    }
}
