//! The naming-convention policy: which build metadata a push must carry and what shape its version
//! and git SHA must have. Pure: [`NamingPolicy::validate`] takes a request and returns every
//! violation at once, so a developer fixes a push in one go.
//!
//! In YAML (every field optional; the defaults shown):
//!
//! ```yaml
//! versionPattern: semver      # or a regular expression the whole version must match
//! gitSha: full                # form of a given git SHA: full (40 hex) or abbreviated (7-40 hex)
//! requireGitSha: false
//! requirePipelineId: false
//! requireBuildTime: false
//! requirePlatform: false
//! ```

use crate::request::PushRequest;
use serde::{Deserialize, Serialize};
use std::fmt;

/// The policy, as configured.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct NamingPolicy {
    /// `semver` (the default: a semantic version such as `1.2.3` or `1.2.3-rc.1`) or a regular
    /// expression the whole version must match.
    pub version_pattern: String,
    /// The accepted form of a git SHA, checked whenever one is given.
    pub git_sha: GitShaForm,
    pub require_git_sha: bool,
    pub require_pipeline_id: bool,
    pub require_build_time: bool,
    pub require_platform: bool,
}

impl Default for NamingPolicy {
    fn default() -> NamingPolicy {
        NamingPolicy {
            version_pattern: SEMVER.to_owned(),
            git_sha: GitShaForm::Full,
            require_git_sha: false,
            require_pipeline_id: false,
            require_build_time: false,
            require_platform: false,
        }
    }
}

/// The `versionPattern` value meaning "a semantic version".
pub const SEMVER: &str = "semver";

/// The accepted form of a git SHA.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum GitShaForm {
    /// 40 lower-case hex digits.
    Full,
    /// 7 to 40 lower-case hex digits.
    Abbreviated,
}

/// A naming policy that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum NamingPolicyError {
    #[error("naming policy: {0}")]
    Parse(String),
    #[error(
        "naming policy: versionPattern {pattern:?} is not a valid regular expression: {reason}"
    )]
    Pattern { pattern: String, reason: String },
}

/// One thing wrong with a push, as a phrase (`missing git SHA (--git-sha)`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamingViolation(pub String);

/// Every violation of one push.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct NamingViolations {
    pub service: String,
    pub version: String,
    pub violations: Vec<NamingViolation>,
}

impl fmt::Display for NamingViolations {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "artifact {} {}: ", self.service, self.version)?;
        for (i, v) in self.violations.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            f.write_str(&v.0)?;
        }
        Ok(())
    }
}

impl NamingPolicy {
    /// Parses a policy from YAML (or JSON) and checks that its pattern compiles.
    pub fn from_yaml(text: &str) -> Result<NamingPolicy, NamingPolicyError> {
        let policy: NamingPolicy =
            yaml_serde::from_str(text).map_err(|e| NamingPolicyError::Parse(e.to_string()))?;
        policy.version_regex()?;
        Ok(policy)
    }

    fn version_regex(&self) -> Result<Option<regex::Regex>, NamingPolicyError> {
        if self.version_pattern == SEMVER {
            return Ok(None);
        }
        regex::Regex::new(&format!("^(?:{})$", self.version_pattern))
            .map(Some)
            .map_err(|e| NamingPolicyError::Pattern {
                pattern: self.version_pattern.clone(),
                reason: e.to_string(),
            })
    }

    /// Checks a push against the policy; the error lists every violation.
    pub fn validate(&self, request: &PushRequest) -> Result<(), NamingViolations> {
        let mut found = Vec::new();
        let mut push = |s: String| found.push(NamingViolation(s));
        for problem in request.syntax_problems() {
            push(problem);
        }
        match self.version_regex() {
            Ok(None) => {
                if semver::Version::parse(&request.version).is_err() {
                    push(format!(
                        "version '{}' does not match semver (e.g. 1.2.3 or 1.2.3-rc.1)",
                        request.version
                    ));
                }
            }
            Ok(Some(re)) => {
                if !re.is_match(&request.version) {
                    push(format!(
                        "version '{}' does not match the pattern '{}'",
                        request.version, self.version_pattern
                    ));
                }
            }
            Err(e) => push(e.to_string()),
        }
        match request.git_sha.as_deref() {
            None if self.require_git_sha => push("missing git SHA (--git-sha)".to_owned()),
            None => {}
            Some(sha) => {
                let (range, form) = match self.git_sha {
                    GitShaForm::Full => (40..=40, "40 lower-case hex digits"),
                    GitShaForm::Abbreviated => (7..=40, "7 to 40 lower-case hex digits"),
                };
                let hex = sha.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
                if !hex || !range.contains(&sha.len()) {
                    push(format!("git SHA '{sha}' is not {form}"));
                }
            }
        }
        match request.pipeline_id.as_deref() {
            None if self.require_pipeline_id => {
                push("missing pipeline id (--pipeline-id)".to_owned())
            }
            Some(id) if id.trim().is_empty() || id.chars().any(char::is_control) => push(format!(
                "pipeline id {id:?} is blank or has control characters"
            )),
            _ => {}
        }
        if self.require_build_time && request.created.is_none() {
            push("missing build time (--build-time)".to_owned());
        }
        if self.require_platform && request.platform.is_none() {
            push("missing target platform (--platform os/arch)".to_owned());
        }
        if found.is_empty() {
            Ok(())
        } else {
            Err(NamingViolations {
                service: request.service.clone(),
                version: request.version.clone(),
                violations: found,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // tests fail loudly on unexpected errors
    use super::*;

    const STRICT: &str = "requireGitSha: true\nrequirePipelineId: true\nrequireBuildTime: true\nrequirePlatform: true\n";
    const SHA: &str = "0123456789abcdef0123456789abcdef01234567";

    fn request(version: &str, sha: Option<&str>, pipeline: Option<&str>) -> PushRequest {
        let mut r = PushRequest::new("payments", version, "app");
        r.git_sha = sha.map(str::to_owned);
        r.pipeline_id = pipeline.map(str::to_owned);
        r
    }

    fn check(policy_yaml: &str, request: PushRequest, expected: Result<(), &str>) {
        let policy = NamingPolicy::from_yaml(policy_yaml).unwrap();
        let got = policy.validate(&request).map_err(|e| e.to_string());
        assert_eq!(
            got.as_ref().map_err(String::as_str),
            expected.as_ref().map_err(|e| *e)
        );
    }

    #[test]
    fn the_default_policy_checks_semver_and_the_form_of_a_given_sha() {
        check("{}", request("1.2.3", None, None), Ok(()));
        check("{}", request("1.2.3-rc.1+build.5", Some(SHA), None), Ok(()));
        check(
            "{}",
            request("v1.2", Some("abc1234"), None),
            Err(
                "artifact payments v1.2: version 'v1.2' does not match semver (e.g. 1.2.3 or 1.2.3-rc.1); git SHA 'abc1234' is not 40 lower-case hex digits",
            ),
        );
    }

    #[test]
    fn a_strict_policy_lists_every_missing_item() {
        check(
            STRICT,
            request("1.2", None, None),
            Err(
                "artifact payments 1.2: version '1.2' does not match semver (e.g. 1.2.3 or 1.2.3-rc.1); missing git SHA (--git-sha); missing pipeline id (--pipeline-id); missing build time (--build-time); missing target platform (--platform os/arch)",
            ),
        );
        let mut complete = request("1.2.0", Some(SHA), Some("run-42"));
        complete.created = Some(time::macros::datetime!(2026-01-02 03:04:05 UTC));
        complete.platform = Some("linux/amd64".parse().unwrap());
        check(STRICT, complete, Ok(()));
    }

    #[test]
    fn custom_version_patterns_and_abbreviated_shas() {
        let policy =
            "versionPattern: '\\d{4}\\.\\d{2}\\.\\d+'\ngitSha: abbreviated\nrequireGitSha: true\n";
        check(policy, request("2026.01.3", Some("abc1234"), None), Ok(()));
        check(
            policy,
            request("2026.01.3x", Some("abc123"), None),
            Err(
                "artifact payments 2026.01.3x: version '2026.01.3x' does not match the pattern '\\d{4}\\.\\d{2}\\.\\d+'; git SHA 'abc123' is not 7 to 40 lower-case hex digits",
            ),
        );
        check(
            policy,
            request("2026.01.3", Some("ABC1234"), Some(" ")),
            Err(
                "artifact payments 2026.01.3: git SHA 'ABC1234' is not 7 to 40 lower-case hex digits; pipeline id \" \" is blank or has control characters",
            ),
        );
    }

    #[test]
    fn syntax_problems_are_reported_with_the_policy_violations() {
        check(
            "{}",
            request("1.0", None, None).with_service("bad name"),
            Err(
                "artifact bad name 1.0: service name \"bad name\" has characters that are not allowed (allowed: letters, digits, '.', '_', '-'); version '1.0' does not match semver (e.g. 1.2.3 or 1.2.3-rc.1)",
            ),
        );
    }

    #[test]
    fn unusable_policies_are_refused_when_loaded() {
        let err = NamingPolicy::from_yaml("versionPattern: '('").unwrap_err();
        assert!(
            err.to_string().starts_with(
                "naming policy: versionPattern \"(\" is not a valid regular expression"
            ),
            "{err}"
        );
        let err = NamingPolicy::from_yaml("requireGitSHA: true").unwrap_err();
        assert!(err.to_string().contains("unknown field"), "{err}");
    }

    impl PushRequest {
        fn with_service(mut self, s: &str) -> PushRequest {
            self.service = s.to_owned();
            self
        }
    }
}
