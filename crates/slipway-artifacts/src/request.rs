//! What a push asks for: the artifact's identity (service, version, platform), its build metadata,
//! and how its file is typed; plus the syntax every service, version and file name must have
//! whatever the naming policy says (they become reference names and annotations).

use crate::oci::{ARTIFACT_TYPE_FILE, MEDIA_TYPE_FILE_LAYER, Platform};
use std::collections::BTreeMap;
use time::OffsetDateTime;

/// One push of one file as one platform variant of `service:version`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushRequest {
    pub service: String,
    pub version: String,
    /// The target platform; `None` for a platform-independent file.
    pub platform: Option<Platform>,
    /// The git commit the artifact was built from.
    pub git_sha: Option<String>,
    /// The pipeline run that built it.
    pub pipeline_id: Option<String>,
    /// Build time; the store records the push time when absent.
    pub created: Option<OffsetDateTime>,
    /// The file's name, recorded as the layer's title.
    pub file_name: String,
    /// The layer's media type; `application/octet-stream` when absent.
    pub layer_media_type: Option<String>,
    /// The manifest's `artifactType`; `application/vnd.slipway.artifact.v1` when absent.
    pub artifact_type: Option<String>,
    /// Extra manifest annotations.
    pub annotations: BTreeMap<String, String>,
}

impl PushRequest {
    /// A request with only the required fields.
    pub fn new(
        service: impl Into<String>,
        version: impl Into<String>,
        file_name: impl Into<String>,
    ) -> PushRequest {
        PushRequest {
            service: service.into(),
            version: version.into(),
            platform: None,
            git_sha: None,
            pipeline_id: None,
            created: None,
            file_name: file_name.into(),
            layer_media_type: None,
            artifact_type: None,
            annotations: BTreeMap::new(),
        }
    }

    /// The layer media type in effect.
    pub fn layer_media_type(&self) -> &str {
        self.layer_media_type
            .as_deref()
            .unwrap_or(MEDIA_TYPE_FILE_LAYER)
    }

    /// The artifact type in effect.
    pub fn artifact_type(&self) -> &str {
        self.artifact_type.as_deref().unwrap_or(ARTIFACT_TYPE_FILE)
    }

    /// Problems with the request's syntax (names that cannot be stored), each as one phrase.
    pub fn syntax_problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if let Err(p) = check_service(&self.service) {
            problems.push(p);
        }
        if let Err(p) = check_version(&self.version) {
            problems.push(p);
        }
        if self.file_name.is_empty()
            || self.file_name.len() > 255
            || self.file_name == "."
            || self.file_name == ".."
            || self
                .file_name
                .chars()
                .any(|c| c == '/' || c == '\\' || c.is_control())
        {
            problems.push(format!(
                "file name {:?} must be a plain file name (no path separators or control characters, at most 255 bytes)",
                self.file_name
            ));
        }
        for (name, value) in [
            ("layer media type", self.layer_media_type()),
            ("artifact type", self.artifact_type()),
        ] {
            if !is_media_type(value) {
                problems.push(format!(
                    "{name} {value:?} is not a media type (type/subtype)"
                ));
            }
        }
        problems
    }
}

/// Whether `s` looks like a media type: `type/subtype` of visible characters.
pub fn is_media_type(s: &str) -> bool {
    let mut parts = s.splitn(2, '/');
    let ok = |p: Option<&str>| {
        p.is_some_and(|p| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&b))
        })
    };
    ok(parts.next()) && ok(parts.next()) && s.len() <= 255
}

/// A service name: 1–128 of `[A-Za-z0-9._-]`, starting with a letter or digit.
pub fn check_service(service: &str) -> Result<(), String> {
    name_syntax(service, b"._-").map_err(|why| {
        format!("service name {service:?} {why} (allowed: letters, digits, '.', '_', '-')")
    })
}

/// A version: 1–128 of `[A-Za-z0-9._+-]`, starting with a letter or digit.
pub fn check_version(version: &str) -> Result<(), String> {
    name_syntax(version, b"._+-").map_err(|why| {
        format!("version {version:?} {why} (allowed: letters, digits, '.', '_', '+', '-')")
    })
}

fn name_syntax(s: &str, extra: &[u8]) -> Result<(), &'static str> {
    if s.is_empty() {
        return Err("is empty");
    }
    if s.len() > 128 {
        return Err("is longer than 128 characters");
    }
    if !s.as_bytes()[0].is_ascii_alphanumeric() {
        return Err("must start with a letter or digit");
    }
    if !s
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || extra.contains(&b))
    {
        return Err("has characters that are not allowed");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(service: &str, version: &str, file: &str, expected: &[&str]) {
        let problems = PushRequest::new(service, version, file).syntax_problems();
        assert_eq!(problems.len(), expected.len(), "{problems:?}");
        for (p, e) in problems.iter().zip(expected) {
            assert!(p.contains(e), "{p:?} should contain {e:?}");
        }
    }

    #[test]
    fn names_that_cannot_be_stored_are_reported() {
        check("payments", "1.2.3+build.7", "app.tar.gz", &[]);
        check("", "1.0.0", "app", &["service name \"\" is empty"]);
        check(
            "pay:ments",
            "1.0.0",
            "app",
            &["service name \"pay:ments\" has characters"],
        );
        check("payments", "-1", "app", &["version \"-1\" must start"]);
        check("payments", "1.0.0", "../app", &["file name \"../app\""]);
        check(
            "a/b",
            "v 1",
            "",
            &["service name \"a/b\"", "version \"v 1\"", "file name \"\""],
        );
    }

    #[test]
    fn media_types_need_a_type_and_a_subtype() {
        assert!(is_media_type("application/vnd.cyclonedx+json"));
        assert!(!is_media_type("application"));
        assert!(!is_media_type("application/"));
        assert!(!is_media_type("application/a b"));
    }
}
