//! An OpenAPI 3.0/3.1 document as parsed JSON, checked once at load so the diff can trust it:
//! the root is an OpenAPI 3.x object and every `$ref` is local and resolves.

use serde_json::{Map, Value};

/// Why a specification could not be used. `field` is the JSON path of the offending place
/// (`$` for the whole document).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{document}: {field}: {reason}")]
pub struct LoadError {
    pub document: String,
    pub field: String,
    pub reason: String,
}

/// A loaded specification. Cheap to diff many times; the diff borrows it.
#[derive(Debug, Clone)]
pub struct OpenApi {
    name: String,
    root: Value,
}

/// How many `$ref` hops a chain may take before it is treated as a loop.
const MAX_REF_HOPS: usize = 64;

impl OpenApi {
    /// Parses YAML or JSON text (duplicate keys refused) and checks it.
    ///
    /// # Errors
    ///
    /// [`LoadError`] naming the document, the field and the reason.
    pub fn parse(name: &str, text: &str) -> Result<Self, LoadError> {
        let root = slipway_yaml::parse_one(text).map_err(|error| LoadError {
            document: name.to_owned(),
            field: "$".to_owned(),
            reason: error.reason,
        })?;
        Self::from_value(name, root)
    }

    /// Checks an already parsed document.
    ///
    /// # Errors
    ///
    /// [`LoadError`] when it is not an OpenAPI 3.0/3.1 object or a `$ref` is not local or
    /// does not resolve.
    pub fn from_value(name: &str, root: Value) -> Result<Self, LoadError> {
        let error = |field: &str, reason: String| LoadError {
            document: name.to_owned(),
            field: field.to_owned(),
            reason,
        };
        let Some(object) = root.as_object() else {
            return Err(error(
                "$",
                "an OpenAPI document must be a mapping".to_owned(),
            ));
        };
        match object.get("openapi") {
            Some(Value::String(version)) if version.starts_with("3.") => {}
            Some(Value::String(version)) => {
                return Err(error(
                    "$.openapi",
                    format!("version {version} is not supported (OpenAPI 3.0 or 3.1 only)"),
                ));
            }
            Some(_) => return Err(error("$.openapi", "must be a string".to_owned())),
            None if object.contains_key("swagger") => {
                return Err(error(
                    "$.swagger",
                    "Swagger 2.0 is not supported (OpenAPI 3.0 or 3.1 only)".to_owned(),
                ));
            }
            None => return Err(error("$", "missing `openapi` version field".to_owned())),
        }
        for (key, expected) in [
            ("paths", "mapping"),
            ("components", "mapping"),
            ("webhooks", "mapping"),
        ] {
            if let Some(value) = object.get(key)
                && !value.is_object()
                && !value.is_null()
            {
                return Err(error(&format!("$.{key}"), format!("must be a {expected}")));
            }
        }
        let spec = OpenApi {
            name: name.to_owned(),
            root,
        };
        spec.check_refs_at(&spec.root)
            .map_err(|(segments, reason)| {
                let field: String = std::iter::once("$".to_owned())
                    .chain(segments.into_iter().rev())
                    .collect();
                error(&field, reason)
            })?;
        Ok(spec)
    }

    /// The name given at load (usually the file name).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The parsed document.
    pub fn root(&self) -> &Value {
        &self.root
    }

    pub(crate) fn root_object(&self) -> &Map<String, Value> {
        // from_value refused anything else
        self.root.as_object().unwrap_or(empty_map())
    }

    /// Checks every `$ref` below `value`. On failure the JSON path is assembled while the
    /// recursion unwinds (segments innermost first), so valid documents build no paths.
    fn check_refs_at(&self, value: &Value) -> Result<(), (Vec<String>, String)> {
        match value {
            Value::Object(object) => {
                if let Some(reference) = object.get("$ref") {
                    let Some(reference) = reference.as_str() else {
                        return Err((vec![".$ref".to_owned()], "must be a string".to_owned()));
                    };
                    if !reference.starts_with('#') {
                        return Err((
                            vec![".$ref".to_owned()],
                            format!(
                                "`{reference}` is not a local reference (only `#/...` references are supported)"
                            ),
                        ));
                    }
                    if self.pointer(reference).is_none() {
                        return Err((
                            vec![".$ref".to_owned()],
                            format!("`{reference}` does not resolve"),
                        ));
                    }
                }
                for (key, child) in object {
                    if matches!(child, Value::Object(_) | Value::Array(_)) {
                        self.check_refs_at(child)
                            .map_err(|(mut segments, reason)| {
                                segments.push(format!(".{key}"));
                                (segments, reason)
                            })?;
                    }
                }
            }
            Value::Array(items) => {
                for (index, child) in items.iter().enumerate() {
                    if matches!(child, Value::Object(_) | Value::Array(_)) {
                        self.check_refs_at(child)
                            .map_err(|(mut segments, reason)| {
                                segments.push(format!("[{index}]"));
                                (segments, reason)
                            })?;
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// Looks up a local reference (`#/a/b~1c`), with JSON-pointer and percent escapes.
    pub(crate) fn pointer(&self, reference: &str) -> Option<&Value> {
        let fragment = reference.strip_prefix('#')?;
        if fragment.is_empty() {
            return Some(&self.root);
        }
        let mut current = &self.root;
        for token in fragment.strip_prefix('/')?.split('/') {
            let decoded;
            let token = if token.contains(['%', '~']) {
                decoded = percent_decode(token).replace("~1", "/").replace("~0", "~");
                decoded.as_str()
            } else {
                token
            };
            current = match current {
                Value::Object(object) => object.get(token)?,
                Value::Array(items) => items.get(token.parse::<usize>().ok()?)?,
                _ => return None,
            };
        }
        Some(current)
    }

    /// Follows `$ref`s from `value`: the first reference taken (`""` when `value` is inline)
    /// and the value finally reached. A chain that loops ends at an empty mapping.
    pub(crate) fn resolve<'a>(&'a self, value: &'a Value) -> (&'a str, &'a Value) {
        let mut first = "";
        let mut current = value;
        for _ in 0..MAX_REF_HOPS {
            let Some(reference) = current.get("$ref").and_then(Value::as_str) else {
                return (first, current);
            };
            if first.is_empty() {
                first = reference;
            }
            match self.pointer(reference) {
                Some(target) => current = target,
                None => return (first, empty_value()),
            }
        }
        (first, empty_value())
    }

    /// Resolves `value` and returns it as a mapping (an empty one for anything else).
    pub(crate) fn resolve_object<'a>(&'a self, value: &'a Value) -> &'a Map<String, Value> {
        self.resolve(value).1.as_object().unwrap_or(empty_map())
    }
}

fn percent_decode(token: &str) -> String {
    if !token.contains('%') {
        return token.to_owned();
    }
    let bytes = token.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Some(decoded) = token
                .get(i + 1..i + 3)
                .and_then(|hex| u8::from_str_radix(hex, 16).ok())
        {
            out.push(decoded);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

pub(crate) fn empty_map() -> &'static Map<String, Value> {
    static EMPTY: std::sync::OnceLock<Map<String, Value>> = std::sync::OnceLock::new();
    EMPTY.get_or_init(Map::new)
}

pub(crate) fn empty_value() -> &'static Value {
    static EMPTY: std::sync::OnceLock<Value> = std::sync::OnceLock::new();
    EMPTY.get_or_init(|| Value::Object(Map::new()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str, expected: Result<(), &str>) {
        match (OpenApi::parse("spec.yaml", text), expected) {
            (Ok(_), Ok(())) => {}
            (Err(got), Err(want)) => assert!(got.to_string().contains(want), "{text}: {got}"),
            (got, want) => panic!("{text}: got {got:?}, want {want:?}"),
        }
    }

    #[test]
    fn documents_are_checked_at_load() {
        check("openapi: 3.0.0\npaths: {}\n", Ok(()));
        check(
            "openapi: 3.1.0\ncomponents:\n  schemas:\n    A: {$ref: '#/components/schemas/A'}\n",
            Ok(()),
        );
        check(
            "swagger: '2.0'\n",
            Err("$.swagger: Swagger 2.0 is not supported"),
        );
        check("openapi: 2.0.0\n", Err("$.openapi: version 2.0.0"));
        check("info: {}\n", Err("missing `openapi`"));
        check("- 1\n", Err("must be a mapping"));
        check(
            "openapi: 3.0.0\npaths: []\n",
            Err("$.paths: must be a mapping"),
        );
        check(
            "openapi: 3.0.0\npaths:\n  /a:\n    get:\n      parameters:\n        - $ref: 'other.yaml#/p'\n",
            Err("$.paths./a.get.parameters[0].$ref: `other.yaml#/p` is not a local reference"),
        );
        check(
            "openapi: 3.0.0\ncomponents:\n  schemas:\n    A: {$ref: '#/components/schemas/B'}\n",
            Err("$.components.schemas.A.$ref: `#/components/schemas/B` does not resolve"),
        );
        check(
            "openapi: 3.0.0\nopenapi: 3.0.1\n",
            Err("duplicate key `openapi`"),
        );
    }

    #[test]
    fn references_resolve_with_escapes_and_loops_end() {
        let spec = OpenApi::parse(
            "s",
            "openapi: 3.1.0\ncomponents:\n  schemas:\n    a/b: {type: string}\n    L1: {$ref: '#/components/schemas/L2'}\n    L2: {$ref: '#/components/schemas/L1'}\n",
        )
        .unwrap();
        let via = serde_json::json!({"$ref": "#/components/schemas/a~1b"});
        let (first, target) = spec.resolve(&via);
        assert_eq!(first, "#/components/schemas/a~1b");
        assert_eq!(target["type"], "string");
        let looped = serde_json::json!({"$ref": "#/components/schemas/L1"});
        assert_eq!(spec.resolve(&looped).1, &serde_json::json!({}));
        assert_eq!(
            spec.pointer("#/components/schemas/a%2Fb").unwrap()["type"],
            "string"
        );
    }
}
