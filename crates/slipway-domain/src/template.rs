//! Templating of pipeline stages: every string field of a stage may use minijinja expressions
//! over the pipeline's variables (`{{ replicas }}`, `{{ environment }}`), with the variables
//! for the stage's environment overriding those under `"*"`. Rendering is a pure function; an
//! error names the field and the reason.

use serde_json::Value;
use std::collections::BTreeMap;

/// Renders every string in `value` with `variables`; `path` names the value for errors.
pub fn render_strings(
    value: &Value,
    variables: &BTreeMap<String, Value>,
    path: &str,
) -> Result<Value, String> {
    let mut env = minijinja::Environment::new();
    // An undefined variable is an error, not an empty string.
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    render(&env, value, variables, path)
}

fn render(
    env: &minijinja::Environment<'_>,
    value: &Value,
    vars: &BTreeMap<String, Value>,
    path: &str,
) -> Result<Value, String> {
    Ok(match value {
        Value::String(s) if is_template(s) => Value::String(
            env.render_str(s, vars)
                .map_err(|e| format!("{path}: {e}"))?,
        ),
        Value::Array(items) => Value::Array(
            items
                .iter()
                .enumerate()
                .map(|(i, v)| render(env, v, vars, &format!("{path}[{i}]")))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    Ok((
                        k.clone(),
                        render(env, v, vars, &crate::diagnostic::join_path(path, k))?,
                    ))
                })
                .collect::<Result<_, String>>()?,
        ),
        other => other.clone(),
    })
}

/// The variables for `environment`: those under `"*"`, overridden by the environment's own,
/// plus `environment` itself.
pub fn variables_for(
    all: &BTreeMap<String, BTreeMap<String, Value>>,
    environment: &str,
) -> BTreeMap<String, Value> {
    let mut out: BTreeMap<String, Value> = all.get("*").cloned().unwrap_or_default();
    if let Some(own) = all.get(environment) {
        out.extend(own.clone());
    }
    out.insert("environment".into(), Value::String(environment.to_string()));
    out
}

/// Whether a string is a template (its check waits until it is rendered).
pub fn is_template(s: &str) -> bool {
    s.contains("{{") || s.contains("{%")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn environment_variables_override_the_defaults() {
        let all: BTreeMap<String, BTreeMap<String, Value>> = serde_json::from_value(json!({
            "*": {"soak": "10s", "path": "/healthz"},
            "production": {"soak": "5m"}
        }))
        .unwrap();
        let stage = json!({"checks": [{"wait": "{{ soak }}"}, {"http": {"service": "web", "path": "{{ path }}?env={{ environment }}"}}], "instances": 2});
        let staging =
            render_strings(&stage, &variables_for(&all, "staging"), "spec.stages[0]").unwrap();
        assert_eq!(staging["checks"][0]["wait"], "10s");
        assert_eq!(staging["checks"][1]["http"]["path"], "/healthz?env=staging");
        let production =
            render_strings(&stage, &variables_for(&all, "production"), "spec.stages[1]").unwrap();
        assert_eq!(production["checks"][0]["wait"], "5m");
        assert_eq!(production["instances"], 2);
    }

    #[test]
    fn errors_name_the_field() {
        let err = render_strings(
            &json!({"checks": [{"wait": "{{ missing }}"}]}),
            &BTreeMap::new(),
            "spec.stages[0]",
        )
        .unwrap_err();
        assert!(err.starts_with("spec.stages[0].checks[0].wait: "), "{err}");
        let err = render_strings(&json!({"x": "{{ 1 + }}"}), &BTreeMap::new(), "s").unwrap_err();
        assert!(err.starts_with("s.x: "), "{err}");
    }
}
