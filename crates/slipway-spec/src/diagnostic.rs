//! Diagnostics: what is wrong with an input, and where.
//!
//! A diagnostic names the source (a file and document index, or an API request body), the field
//! path inside the document (`spec.dependsOn[1]`) and the reason, so a person can fix it without
//! guessing.

use serde::{Deserialize, Serialize};
use std::fmt;

/// One problem found in an input document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diagnostic {
    /// Where the document came from, e.g. `examples/services.yaml#2`; empty when unknown.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub source: String,
    /// The field path inside the document, e.g. `spec.tier`; empty for the whole document.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub path: String,
    /// Why the value is refused, in lower case.
    pub message: String,
}

impl Diagnostic {
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Diagnostic {
            source: String::new(),
            path: path.into(),
            message: message.into(),
        }
    }

    pub fn with_source(mut self, source: &str) -> Self {
        if self.source.is_empty() {
            self.source = source.to_string();
        }
        self
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.source.is_empty(), self.path.is_empty()) {
            (false, false) => write!(f, "{}: {}: {}", self.source, self.path, self.message),
            (false, true) => write!(f, "{}: {}", self.source, self.message),
            (true, false) => write!(f, "{}: {}", self.path, self.message),
            (true, true) => write!(f, "{}", self.message),
        }
    }
}

/// Joins a parent field path and a child segment.
pub fn join_path(parent: &str, child: &str) -> String {
    if parent.is_empty() {
        child.to_string()
    } else if child.starts_with('[') {
        format!("{parent}{child}")
    } else {
        format!("{parent}.{child}")
    }
}
