//! Backstage's own catalog examples (`../shared/conformance/catalog/examples`), read the way
//! an import reads them: from the entry points `all.yaml` and `acme-corp.yaml`, following
//! Location targets (a missing target is tolerated, as Backstage does), plus the AI
//! marketplace example. Every entity must parse, every reference the plan needs must resolve,
//! and every planned document must be valid: Teams, Users and Services as slipway-domain
//! parses them, Api documents as their typed shape.

use slipway_catalog::{
    ApiSpec, Catalog, Definition, Entity, Kind, Spec, location_targets, parse_file,
    placeholder_path, plan,
};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::{Path, PathBuf};

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance/catalog/examples")
}

/// Reads the entry points and everything their Locations reach; returns the entities and the
/// targets that were missing.
fn load() -> (Vec<Entity>, Vec<String>) {
    let root = examples();
    let mut queue: VecDeque<String> = [
        "all.yaml",
        "acme-corp.yaml",
        "ai-resources/company-ai-marketplace.yaml",
    ]
    .map(str::to_owned)
    .into();
    let mut seen = BTreeSet::new();
    let (mut entities, mut missing) = (Vec::new(), Vec::new());
    while let Some(file) = queue.pop_front() {
        if !seen.insert(file.clone()) {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(root.join(&file)) else {
            missing.push(file);
            continue;
        };
        let (parsed, diagnostics) = parse_file(&file, &text);
        assert!(diagnostics.is_empty(), "{file}: {diagnostics:?}");
        for entity in parsed {
            if entity.id.kind == Kind::Location {
                queue.extend(location_targets(&entity));
            }
            entities.push(entity);
        }
    }
    (entities, missing)
}

#[test]
fn examples_parse_resolve_and_map_cleanly() {
    let (entities, missing) = load();
    assert_eq!(
        missing,
        vec!["apis/swapi-graphql.yaml"],
        "the only target left out of the examples"
    );
    let mut counts: BTreeMap<Kind, usize> = BTreeMap::new();
    for entity in &entities {
        *counts.entry(entity.id.kind).or_default() += 1;
    }
    println!("catalog examples: {} entities {counts:?}", entities.len());
    assert_eq!(entities.len(), 68);
    assert_eq!(counts[&Kind::Component], 13);
    assert_eq!(counts[&Kind::User], 17);
    assert_eq!(counts[&Kind::Group], 9);

    // placeholders that name files are read here, as an import would
    let mut definitions = BTreeMap::new();
    for entity in &entities {
        if let Spec::Api {
            definition: Definition::Placeholder { target, .. },
            ..
        } = &entity.spec
            && let Some(path) = placeholder_path(entity, target)
        {
            let text = std::fs::read_to_string(examples().join(&path)).expect("placeholder file");
            definitions.insert(path, text);
        }
    }
    let built = Catalog::build(entities);
    assert!(built.errors.is_empty(), "{:?}", built.errors);
    println!(
        "warnings: {:?}",
        built
            .warnings
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
    );
    let plan = plan(&built.catalog, &definitions);
    assert!(plan.errors.is_empty(), "{:?}", plan.errors);

    let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
    for planned in &plan.documents {
        *kinds.entry(planned.kind).or_default() += 1;
        match planned.kind {
            "Team" | "User" | "Service" => {
                if let Err(diagnostics) =
                    slipway_domain::resource::parse_document(&planned.document)
                {
                    panic!(
                        "{} {} from {}: {diagnostics:?}",
                        planned.kind, planned.name, planned.source
                    );
                }
            }
            "Api" => {
                let spec: ApiSpec = serde_json::from_value(planned.document["spec"].clone())
                    .unwrap_or_else(|e| panic!("{}: {e}", planned.name));
                assert!(
                    spec.specification.digest.is_some() || spec.specification.location.is_some(),
                    "{}",
                    planned.name
                );
            }
            other => panic!("unexpected kind {other}"),
        }
    }
    println!("planned: {kinds:?}; skipped: {}", plan.skipped.len());
    assert_eq!(kinds.get("Team"), Some(&9));
    assert_eq!(kinds.get("User"), Some(&17));
    assert_eq!(
        kinds.get("Service"),
        Some(&12),
        "13 components, one of them a library"
    );
    assert_eq!(kinds.get("Api"), Some(&9));

    // services reference only teams that exist, and depend only on planned services
    let names = |kind: &str| -> BTreeSet<&str> {
        plan.documents
            .iter()
            .filter(|d| d.kind == kind)
            .map(|d| d.name.as_str())
            .collect()
    };
    let (teams, services) = (names("Team"), names("Service"));
    for planned in plan.documents.iter().filter(|d| d.kind == "Service") {
        assert!(
            teams.contains(planned.document["spec"]["owner"].as_str().unwrap_or("")),
            "{}",
            planned.name
        );
        for dependency in planned.document["spec"]["dependsOn"]
            .as_array()
            .into_iter()
            .flatten()
        {
            assert!(
                services.contains(dependency.as_str().unwrap_or("")),
                "{}",
                planned.name
            );
        }
    }
    // the webhook API's definition came from its file, content-addressed
    let webhook = plan
        .documents
        .iter()
        .find(|d| d.name == "petstore-webhook")
        .expect("petstore-webhook");
    let digest = webhook.document["spec"]["specification"]["digest"]
        .as_str()
        .expect("digest");
    assert!(plan.specifications[digest].text.contains("webhooks"));
}
