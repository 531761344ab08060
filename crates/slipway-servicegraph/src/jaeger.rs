//! Jaeger's dependency JSON (`/api/dependencies`: `{"data": [{"parent", "child",
//! "callCount"}]}` or the bare list), read as calls already counted per service pair.

use crate::{GraphError, ServiceEdge};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Link {
    parent: String,
    child: String,
    #[serde(default)]
    call_count: u64,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Document {
    Wrapped { data: Vec<Link> },
    Bare(Vec<Link>),
}

/// Reads dependency links; the same pair listed twice adds up. Jaeger does not count errors.
///
/// # Errors
///
/// [`GraphError::Dependencies`] naming the document and the reason.
pub fn parse_jaeger_dependencies(
    document: &str,
    text: &str,
) -> Result<Vec<ServiceEdge>, GraphError> {
    let error = |reason: String| GraphError::Dependencies {
        document: document.to_owned(),
        reason,
    };
    let value = slipway_yaml::parse_one(text).map_err(|e| error(e.reason))?;
    let links = match serde_json::from_value::<Document>(value).map_err(|_| {
        error("expected a list of {parent, child, callCount} or {\"data\": [...]}".to_owned())
    })? {
        Document::Wrapped { data } => data,
        Document::Bare(links) => links,
    };
    let mut by_pair: std::collections::BTreeMap<(String, String), u64> =
        std::collections::BTreeMap::new();
    for (index, link) in links.into_iter().enumerate() {
        if link.parent.is_empty() || link.child.is_empty() {
            return Err(error(format!(
                "link {index}: parent and child must name services"
            )));
        }
        *by_pair.entry((link.parent, link.child)).or_default() += link.call_count;
    }
    Ok(by_pair
        .into_iter()
        .map(|((client, server), calls)| ServiceEdge {
            client,
            server,
            calls,
            errors: 0,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str, expected: Result<Vec<(&str, &str, u64)>, &str>) {
        match (parse_jaeger_dependencies("deps.json", text), expected) {
            (Ok(got), Ok(want)) => {
                let got: Vec<(&str, &str, u64)> = got
                    .iter()
                    .map(|e| (e.client.as_str(), e.server.as_str(), e.calls))
                    .collect();
                assert_eq!(got, want);
            }
            (Err(got), Err(want)) => assert!(got.to_string().contains(want), "{got}"),
            (got, want) => panic!("{text}: got {got:?}, want {want:?}"),
        }
    }

    #[test]
    fn dependency_documents() {
        check(
            r#"{"data":[{"parent":"a","child":"b","callCount":3},{"parent":"a","child":"b","callCount":2}]}"#,
            Ok(vec![("a", "b", 5)]),
        );
        check(
            r#"[{"parent":"b","child":"c","callCount":1,"source":"jaeger"}]"#,
            Ok(vec![("b", "c", 1)]),
        );
        check(
            r#"{"data":[{"parent":"","child":"c"}]}"#,
            Err("deps.json: link 0: parent and child"),
        );
        check(
            r#"{"data":[{"child":"c"}]}"#,
            Err("deps.json: expected a list"),
        );
        check("{\"data\": [], \"data\": []}", Err("duplicate key"));
    }
}
