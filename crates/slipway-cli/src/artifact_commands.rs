//! `slipway artifact ...`: the artifact store, as a client of the API. Files stream both ways
//! (a push is never read into memory whole); a pull is written beside its destination, checked
//! against the digest the server names, then renamed into place.

use crate::client::ApiClient;
use crate::failure::{self, CliResult, Failure};
use crate::output::{Format, print_data, table};
use anyhow::Context;
use clap::Subcommand;
use futures_util::StreamExt;
use reqwest::Method;
use serde_json::Value;
use sha2::{Digest as _, Sha256};
use slipway_api::artifact_routes::{
    DIGEST_HEADER, EXPORT_REPORT_HEADER, HoldRequest, HoldResponse, PushResponse, ReferrerEntry,
    RetentionRequest,
};
use std::path::{Path, PathBuf};
use tokio::io::AsyncWriteExt;

#[derive(Debug, Subcommand)]
pub enum ArtifactCommand {
    /// Push a file as SERVICE VERSION. Pushed versions never change: the same content again is
    /// a no-op, other content is refused (exit 5). The server signs it and records an Artifact
    /// resource `<service>-<version>` whose location is `oci:<service>:<version>`.
    Push {
        file: PathBuf,
        #[arg(long)]
        service: String,
        #[arg(long)]
        version: String,
        /// os/architecture[/variant], e.g. linux/amd64.
        #[arg(long)]
        platform: Option<String>,
        #[arg(long)]
        git_sha: Option<String>,
        #[arg(long)]
        pipeline_id: Option<String>,
        /// When it was built (RFC 3339; default: now).
        #[arg(long)]
        build_time: Option<String>,
        #[arg(short, long, value_enum, default_value_t = Format::Table)]
        output: Format,
    },
    /// Download a version's file (verified against its digest).
    Pull {
        service: String,
        version: String,
        #[arg(long)]
        platform: Option<String>,
        /// Where to write the file.
        #[arg(short, long = "output", value_name = "FILE")]
        output: PathBuf,
    },
    /// List stored versions.
    Ls {
        #[arg(long)]
        service: Option<String>,
        #[arg(short, long, value_enum, default_value_t = Format::Table)]
        output: Format,
    },
    /// Everything about one version: platforms, digests, annotations, referrers, hold.
    Inspect {
        service: String,
        version: String,
        #[arg(short, long, value_enum, default_value_t = Format::Table)]
        output: Format,
    },
    /// Attach a document (signature, SBOM, SARIF, attestation) to a version.
    Attach {
        service: String,
        version: String,
        /// sbom-cyclonedx, sbom-spdx, sarif, sigstore-bundle, in-toto, slipway-signature, or a
        /// media type.
        #[arg(long = "type")]
        artifact_type: String,
        file: PathBuf,
        /// The platform variant it describes (when the version has several).
        #[arg(long)]
        platform: Option<String>,
        /// For a Sigstore bundle: the certificate identity its signer must have (the server
        /// verifies the bundle against the file with the Sigstore production root).
        #[arg(long, requires = "issuer")]
        identity: Option<String>,
        /// For a Sigstore bundle: the OIDC issuer of its signer's certificate.
        #[arg(long, requires = "identity")]
        issuer: Option<String>,
    },
    /// List the documents attached to a version.
    Referrers {
        service: String,
        version: String,
        #[arg(long = "type")]
        artifact_type: Option<String>,
        #[arg(short, long, value_enum, default_value_t = Format::Table)]
        output: Format,
    },
    /// Place a legal hold: retention never deletes a held version (recorded in the audit log).
    Hold {
        service: String,
        version: String,
        #[arg(long)]
        reason: String,
    },
    /// Release a legal hold (recorded in the audit log).
    ReleaseHold { service: String, version: String },
    /// Plan retention and, with --apply, delete what it plans and collect garbage. Prints every
    /// decision with its reasons.
    Retention {
        /// The retention policy (YAML or JSON); default: keep the last 10 per service, 30 days.
        #[arg(long, value_name = "FILE")]
        policy: Option<PathBuf>,
        /// Delete (without it, a dry run).
        #[arg(long)]
        apply: bool,
        #[arg(short, long, value_enum, default_value_t = Format::Table)]
        output: Format,
    },
    /// Write a tar archive (an OCI layout) of versions with their referrers.
    Export {
        /// SERVICE:VERSION references.
        artifacts: Vec<String>,
        /// Every version of this service.
        #[arg(long)]
        service: Option<String>,
        /// Where to write the archive.
        #[arg(short, long = "output", value_name = "FILE")]
        output: PathBuf,
    },
    /// Import an archive written by export (same immutability rules as a push).
    Import { file: PathBuf },
    /// Verify a Sigstore bundle offline (no server, no token): against the artifact's bytes or
    /// its digest, a trusted root (default: the embedded Sigstore production root), and either a
    /// certificate identity and issuer or a public key. Exit 0 with the verified signer, or 7
    /// with the reason.
    VerifyBundle(VerifyBundleArgs),
}

#[derive(Debug, clap::Args)]
pub struct VerifyBundleArgs {
    /// The bundle document (`*.sigstore.json`).
    #[arg(long, value_name = "FILE")]
    pub bundle: PathBuf,
    /// The signed artifact.
    #[arg(
        long,
        value_name = "FILE",
        required_unless_present = "digest",
        conflicts_with = "digest"
    )]
    pub artifact: Option<PathBuf>,
    /// The artifact's digest (sha256:HEX) instead of its bytes.
    #[arg(long, value_name = "sha256:HEX")]
    pub digest: Option<String>,
    /// A trusted root document; default: the Sigstore public-good production root.
    #[arg(long, value_name = "FILE")]
    pub trusted_root: Option<PathBuf>,
    /// The certificate identity the signer must have (with --issuer).
    #[arg(
        long,
        requires = "issuer",
        conflicts_with = "key",
        required_unless_present = "key"
    )]
    pub identity: Option<String>,
    /// The OIDC issuer the signer's certificate must name (with --identity).
    #[arg(long, requires = "identity")]
    pub issuer: Option<String>,
    /// A PEM public key the bundle must be signed with (instead of --identity/--issuer).
    #[arg(long, value_name = "FILE")]
    pub key: Option<PathBuf>,
    #[arg(short, long, value_enum, default_value_t = Format::Table)]
    pub output: Format,
}

pub async fn run(client: &ApiClient, cmd: ArtifactCommand) -> CliResult {
    match cmd {
        ArtifactCommand::Push {
            file,
            service,
            version,
            platform,
            git_sha,
            pipeline_id,
            build_time,
            output,
        } => {
            let metadata = [
                ("platform", platform),
                ("gitSha", git_sha),
                ("pipelineId", pipeline_id),
                ("buildTime", build_time),
            ];
            push(client, &file, &service, &version, &metadata, output).await
        }
        ArtifactCommand::Pull {
            service,
            version,
            platform,
            output,
        } => pull(client, &service, &version, platform.as_deref(), &output).await,
        ArtifactCommand::Ls { service, output } => ls(client, service.as_deref(), output).await,
        ArtifactCommand::Inspect {
            service,
            version,
            output,
        } => inspect(client, &service, &version, output).await,
        ArtifactCommand::Attach {
            service,
            version,
            artifact_type,
            file,
            platform,
            identity,
            issuer,
        } => {
            let query = [
                ("type", Some(artifact_type)),
                ("platform", platform),
                ("identity", identity),
                ("issuer", issuer),
            ];
            attach(client, &service, &version, &query, &file).await
        }
        ArtifactCommand::Referrers {
            service,
            version,
            artifact_type,
            output,
        } => referrers(client, &service, &version, artifact_type.as_deref(), output).await,
        ArtifactCommand::Hold {
            service,
            version,
            reason,
        } => hold(client, &service, &version, Some(reason)).await,
        ArtifactCommand::ReleaseHold { service, version } => {
            hold(client, &service, &version, None).await
        }
        ArtifactCommand::Retention {
            policy,
            apply,
            output,
        } => retention(client, policy.as_deref(), apply, output).await,
        ArtifactCommand::Export {
            artifacts,
            service,
            output,
        } => export(client, artifacts, service, &output).await,
        ArtifactCommand::Import { file } => import(client, &file).await,
        ArtifactCommand::VerifyBundle(args) => verify_bundle(&args),
    }
}

fn read_input(path: &Path) -> CliResult<Vec<u8>> {
    std::fs::read(path).map_err(|e| {
        let exit = if e.kind() == std::io::ErrorKind::NotFound {
            failure::NOT_FOUND
        } else {
            failure::INVALID
        };
        Failure::new(exit, format!("cannot read {}: {e}", path.display()))
    })
}

/// `artifact verify-bundle`: offline, touches nothing but the files it is given.
pub fn verify_bundle(args: &VerifyBundleArgs) -> CliResult {
    use slipway_signing::{ArtifactInput, Policy, Sha256Digest, VerifyRequest};
    let bundle = read_input(&args.bundle)?;
    let artifact_bytes = args.artifact.as_deref().map(read_input).transpose()?;
    let artifact = match (&artifact_bytes, &args.digest) {
        (Some(bytes), _) => ArtifactInput::Bytes(bytes),
        (None, Some(text)) => ArtifactInput::Digest(text.parse::<Sha256Digest>().map_err(|e| {
            Failure::new(
                failure::INVALID,
                format!("--digest {text} is not a sha256 digest: {e}"),
            )
        })?),
        (None, None) => {
            return Err(Failure::new(
                failure::INVALID,
                "pass --artifact FILE or --digest sha256:HEX",
            ));
        }
    };
    let trusted_root = args.trusted_root.as_deref().map(read_input).transpose()?;
    let key_pem = match &args.key {
        Some(path) => Some(String::from_utf8(read_input(path)?).map_err(|_| {
            Failure::new(
                failure::INVALID,
                format!("{} is not a pem text file", path.display()),
            )
        })?),
        None => None,
    };
    let policy = match (&key_pem, &args.identity, &args.issuer) {
        (Some(pem), _, _) => Policy::Key { pem },
        (None, Some(identity), Some(issuer)) => Policy::Identity { identity, issuer },
        _ => {
            return Err(Failure::new(
                failure::INVALID,
                "pass --identity and --issuer, or --key FILE",
            ));
        }
    };
    let verified = slipway_signing::verify_bundle(&VerifyRequest {
        bundle_json: &bundle,
        artifact,
        trusted_root_json: trusted_root.as_deref(),
        policy,
    })
    .map_err(|e| {
        Failure::new(
            failure::VERIFY_FAILED,
            format!("bundle {} does not verify: {e}", args.bundle.display()),
        )
    })?;
    if args.output != Format::Table {
        return print_data(args.output, &verified);
    }
    let signer = match &verified.signer {
        slipway_signing::Signer::Certificate { identity, issuer } => {
            format!("{identity} (issuer {issuer})")
        }
        slipway_signing::Signer::Key => "the given public key".to_owned(),
    };
    let mut t = table(vec!["FIELD", "VALUE"]);
    t.add_row(vec!["verified".to_owned(), "yes".to_owned()]);
    t.add_row(vec![
        "artifact".to_owned(),
        format!("sha256:{}", verified.artifact_sha256),
    ]);
    t.add_row(vec!["signer".to_owned(), signer]);
    t.add_row(vec![
        "content".to_owned(),
        match &verified.content {
            slipway_signing::SignedContent::MessageSignature => "message signature".to_owned(),
            slipway_signing::SignedContent::DsseEnvelope { payload_type } => {
                format!("dsse envelope ({payload_type})")
            }
        },
    ]);
    t.add_row(vec![
        "certificate checked".to_owned(),
        verified.certificate_verified.to_string(),
    ]);
    t.add_row(vec![
        "transparency log checked".to_owned(),
        verified.transparency_log_verified.to_string(),
    ]);
    println!("{t}");
    Ok(())
}

fn version_path(service: &str, version: &str) -> String {
    format!("/api/v1/artifact-store/{service}/{version}")
}

async fn open_file(path: &Path) -> CliResult<tokio::fs::File> {
    tokio::fs::File::open(path).await.map_err(|e| {
        let exit = if e.kind() == std::io::ErrorKind::NotFound {
            failure::NOT_FOUND
        } else {
            failure::INVALID
        };
        Failure::new(exit, format!("cannot read {}: {e}", path.display()))
    })
}

fn streamed(file: tokio::fs::File) -> reqwest::Body {
    reqwest::Body::wrap_stream(tokio_util::io::ReaderStream::with_capacity(file, 256 << 10))
}

async fn push(
    client: &ApiClient,
    file: &Path,
    service: &str,
    version: &str,
    metadata: &[(&str, Option<String>)],
    output: Format,
) -> CliResult {
    let opened = open_file(file).await?;
    let mut query: Vec<(&str, String)> = metadata
        .iter()
        .filter_map(|(k, v)| v.clone().map(|v| (*k, v)))
        .collect();
    if let Some(name) = file.file_name().and_then(|n| n.to_str()) {
        query.push(("fileName", name.to_owned()));
    }
    let path = version_path(service, version);
    let req = client
        .request(Method::PUT, &path)
        .query(&query)
        .header("content-type", "application/octet-stream")
        .body(streamed(opened));
    let resp = client.execute(&path, req).await?;
    let pushed: PushResponse = client.json(&path, resp).await?;
    if output != Format::Table {
        return print_data(output, &pushed);
    }
    let platform = pushed
        .platform
        .as_deref()
        .map(|p| format!(" ({p})"))
        .unwrap_or_default();
    if pushed.already_present {
        println!(
            "{}{platform} is already stored with this content ({}): nothing changed",
            pushed.reference, pushed.layer_digest
        );
    } else {
        println!(
            "pushed {}{platform}: {} bytes, file {}, index {}",
            pushed.reference, pushed.size, pushed.layer_digest, pushed.index_digest
        );
    }
    if let Some(signature) = &pushed.signature {
        println!("signed by the server: {}", signature.digest);
    }
    println!(
        "{} {} {} (revision {})",
        pushed.resource.kind,
        pushed.resource.name,
        pushed.resource.action,
        pushed.resource.revision
    );
    Ok(())
}

fn header_text(resp: &reqwest::Response, name: &str) -> Option<String> {
    resp.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// Streams a response body into `output` through a temporary file beside it; returns the
/// body's SHA-256 (`sha256:<hex>`) and size. The file is renamed into place only when `check`
/// accepts the digest.
async fn save_body(
    resp: reqwest::Response,
    output: &Path,
    check: impl FnOnce(&str) -> CliResult,
) -> CliResult<(String, u64)> {
    let dir = output
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let temp = tempfile::Builder::new()
        .prefix(".slipway-pull-")
        .tempfile_in(dir)
        .with_context(|| format!("cannot write in {}", dir.display()))?;
    let (std_file, temp_path) = temp.into_parts();
    let mut file = tokio::fs::File::from_std(std_file);
    let mut hasher = Sha256::new();
    let mut size = 0u64;
    let mut body = resp.bytes_stream();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| {
            Failure::new(
                failure::UNREACHABLE,
                format!("the transfer broke off after {size} bytes: {e}"),
            )
        })?;
        hasher.update(&chunk);
        size += chunk.len() as u64;
        file.write_all(&chunk)
            .await
            .with_context(|| format!("cannot write {}", temp_path.display()))?;
    }
    file.sync_all().await?;
    let digest = format!("sha256:{}", hex::encode(hasher.finalize()));
    check(&digest)?;
    temp_path
        .persist(output)
        .with_context(|| format!("cannot write {}", output.display()))?;
    Ok((digest, size))
}

async fn pull(
    client: &ApiClient,
    service: &str,
    version: &str,
    platform: Option<&str>,
    output: &Path,
) -> CliResult {
    let path = format!("{}/content", version_path(service, version));
    let mut req = client.request(Method::GET, &path);
    if let Some(p) = platform {
        req = req.query(&[("platform", p)]);
    }
    let resp = client.execute(&path, req).await?;
    let expected = header_text(&resp, DIGEST_HEADER);
    let (digest, size) = save_body(resp, output, |actual| match &expected {
        Some(e) if e != actual => Err(Failure::new(
            failure::VERIFY_FAILED,
            format!("the file received has digest {actual}, not {e}: not written"),
        )),
        _ => Ok(()),
    })
    .await?;
    println!("wrote {} ({size} bytes, {digest})", output.display());
    Ok(())
}

fn short(digest: &str) -> String {
    digest
        .strip_prefix("sha256:")
        .map(|h| format!("sha256:{}", h.get(..12).unwrap_or(h)))
        .unwrap_or_else(|| digest.to_owned())
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

async fn ls(client: &ApiClient, service: Option<&str>, output: Format) -> CliResult {
    let path = match service {
        Some(s) => format!("/api/v1/artifact-store?service={s}"),
        None => "/api/v1/artifact-store".to_owned(),
    };
    let list: Vec<Value> = client.get(&path).await?;
    if output != Format::Table {
        return print_data(output, &list);
    }
    let mut t = table(vec![
        "SERVICE",
        "VERSION",
        "PLATFORMS",
        "SIZE",
        "DIGEST",
        "CREATED",
        "HOLD",
    ]);
    for a in &list {
        let variants = a["variants"].as_array().cloned().unwrap_or_default();
        let platforms = variants
            .iter()
            .map(|v| {
                let p = &v["platform"];
                if p.is_null() {
                    "-".to_owned()
                } else {
                    format!("{}/{}", text(&p["os"]), text(&p["architecture"]))
                }
            })
            .collect::<Vec<_>>()
            .join(",");
        let size: u64 = variants.iter().filter_map(|v| v["size"].as_u64()).sum();
        let hold = if a["hold"].is_null() {
            String::new()
        } else {
            format!(
                "{} ({})",
                text(&a["hold"]["reason"]),
                text(&a["hold"]["actor"])
            )
        };
        t.add_row(vec![
            text(&a["service"]),
            text(&a["version"]),
            platforms,
            size.to_string(),
            short(&text(&a["digest"])),
            text(&a["created"]),
            hold,
        ]);
    }
    println!("{t}");
    Ok(())
}

async fn inspect(client: &ApiClient, service: &str, version: &str, output: Format) -> CliResult {
    let details: Value = client.get(&version_path(service, version)).await?;
    if output != Format::Table {
        return print_data(output, &details);
    }
    let summary = &details["summary"];
    println!(
        "{}:{}",
        text(&summary["service"]),
        text(&summary["version"])
    );
    println!("  index    {}", text(&summary["digest"]));
    println!("  created  {}", text(&summary["created"]));
    if !summary["hold"].is_null() {
        println!(
            "  hold     {} (by {} since {})",
            text(&summary["hold"]["reason"]),
            text(&summary["hold"]["actor"]),
            text(&summary["hold"]["since"])
        );
    }
    for v in summary["variants"].as_array().into_iter().flatten() {
        let p = &v["platform"];
        let platform = if p.is_null() {
            "any platform".to_owned()
        } else {
            format!("{}/{}", text(&p["os"]), text(&p["architecture"]))
        };
        println!("  variant  {platform}");
        println!("    manifest  {}", text(&v["manifest"]));
        println!(
            "    file      {} {} ({} bytes)",
            text(&v["fileName"]),
            text(&v["layer"]),
            text(&v["size"])
        );
        for (label, key) in [("git sha", "revision"), ("pipeline", "pipelineId")] {
            if !v[key].is_null() {
                println!("    {label:<9} {}", text(&v[key]));
            }
        }
    }
    let entries = slipway_referrers(&details);
    if !entries.is_empty() {
        println!("  referrers");
        for (subject, d) in entries {
            println!(
                "    {} {} (of {})",
                text(&d["artifactType"]),
                text(&d["digest"]),
                short(&subject)
            );
        }
    }
    Ok(())
}

/// Every referrer in an inspect answer, with its subject's digest.
fn slipway_referrers(details: &Value) -> Vec<(String, Value)> {
    let mut out: Vec<(String, Value)> = details["referrers"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|d| (text(&details["indexDescriptor"]["digest"]), d.clone()))
        .collect();
    for m in details["manifests"].as_array().into_iter().flatten() {
        for d in m["referrers"].as_array().into_iter().flatten() {
            out.push((text(&m["descriptor"]["digest"]), d.clone()));
        }
    }
    out
}

async fn attach(
    client: &ApiClient,
    service: &str,
    version: &str,
    query: &[(&str, Option<String>)],
    file: &Path,
) -> CliResult {
    let body = tokio::fs::read(file).await.map_err(|e| {
        Failure::new(
            failure::INVALID,
            format!("cannot read {}: {e}", file.display()),
        )
    })?;
    let path = format!("{}/referrers", version_path(service, version));
    let query: Vec<(&str, &str)> = query
        .iter()
        .filter_map(|(k, v)| v.as_deref().map(|v| (*k, v)))
        .collect();
    let req = client.request(Method::POST, &path).query(&query).body(body);
    let resp = client.execute(&path, req).await?;
    let entry: ReferrerEntry = client.json(&path, resp).await?;
    println!(
        "attached {} {} to {service}:{version} ({})",
        entry
            .descriptor
            .artifact_type
            .as_deref()
            .unwrap_or_default(),
        entry.descriptor.digest,
        entry.subject
    );
    Ok(())
}

async fn referrers(
    client: &ApiClient,
    service: &str,
    version: &str,
    artifact_type: Option<&str>,
    output: Format,
) -> CliResult {
    let path = format!("{}/referrers", version_path(service, version));
    let mut req = client.request(Method::GET, &path);
    if let Some(t) = artifact_type {
        req = req.query(&[("type", t)]);
    }
    let resp = client.execute(&path, req).await?;
    let entries: Vec<ReferrerEntry> = client.json(&path, resp).await?;
    if output != Format::Table {
        return print_data(output, &entries);
    }
    let mut t = table(vec!["TYPE", "DIGEST", "SIZE", "SUBJECT", "PLATFORM"]);
    for e in &entries {
        t.add_row(vec![
            e.descriptor.artifact_type.clone().unwrap_or_default(),
            e.descriptor.digest.to_string(),
            e.descriptor.size.to_string(),
            short(&e.subject),
            e.platform.clone().unwrap_or_default(),
        ]);
    }
    println!("{t}");
    Ok(())
}

async fn hold(
    client: &ApiClient,
    service: &str,
    version: &str,
    reason: Option<String>,
) -> CliResult {
    let path = format!("{}/hold", version_path(service, version));
    let placed = reason.is_some();
    let held: HoldResponse = match reason {
        Some(reason) => client.post(&path, &HoldRequest { reason }).await?,
        None => client.delete(&path).await?,
    };
    if placed {
        println!(
            "{service}:{version} is under legal hold: {} ({})",
            held.reason, held.actor
        );
    } else {
        println!(
            "released the legal hold on {service}:{version} ({}, placed by {} at {})",
            held.reason, held.actor, held.since
        );
    }
    println!(
        "{} {} {} (revision {})",
        held.resource.kind, held.resource.name, held.resource.action, held.resource.revision
    );
    Ok(())
}

async fn retention(
    client: &ApiClient,
    policy: Option<&Path>,
    apply: bool,
    output: Format,
) -> CliResult {
    let policy = match policy {
        Some(path) => Some(Value::String(std::fs::read_to_string(path).map_err(
            |e| {
                Failure::new(
                    failure::INVALID,
                    format!("cannot read {}: {e}", path.display()),
                )
            },
        )?)),
        None => None,
    };
    let request = RetentionRequest {
        policy,
        dry_run: !apply,
    };
    let answer: Value = client
        .post("/api/v1/artifact-store/retention", &request)
        .await?;
    if output != Format::Table {
        return print_data(output, &answer);
    }
    let items = |v: &Value| v.as_array().cloned().unwrap_or_default();
    for d in items(&answer["plan"]) {
        let word = match (d["decision"].as_str(), apply) {
            (Some("delete"), true) => "delete",
            (Some("delete"), false) => "would delete",
            _ => "keep",
        };
        let reasons: Vec<String> = items(&d["reasons"]).iter().map(text).collect();
        println!(
            "{word} {}:{}: {}",
            text(&d["service"]),
            text(&d["version"]),
            reasons.join("; ")
        );
    }
    let r = &answer["report"];
    for held in items(&r["keptUnderHold"]) {
        println!(
            "kept {}:{}: placed under legal hold since the plan was made",
            text(&held["service"]),
            text(&held["version"])
        );
    }
    println!(
        "{} {} version(s); garbage collection {} {} blob(s), {} bytes",
        if apply { "deleted" } else { "would delete" },
        items(&r["deleted"]).len(),
        if apply { "removed" } else { "would remove" },
        items(&r["gc"]["removedBlobs"]).len(),
        text(&r["gc"]["removedBytes"])
    );
    for name in items(&answer["resourcesDeleted"]) {
        println!("Artifact {} deleted", text(&name));
    }
    for kept in items(&answer["resourcesKept"]) {
        println!("Artifact {}", text(&kept));
    }
    Ok(())
}

async fn export(
    client: &ApiClient,
    artifacts: Vec<String>,
    service: Option<String>,
    output: &Path,
) -> CliResult {
    let path = "/api/v1/artifact-store/export";
    let req = client
        .request(Method::POST, path)
        .json(&slipway_api::artifact_routes::ExportRequest { artifacts, service });
    let resp = client.execute(path, req).await?;
    let report = header_text(&resp, EXPORT_REPORT_HEADER)
        .and_then(|r| serde_json::from_str::<Value>(&r).ok())
        .unwrap_or_default();
    let (_, size) = save_body(resp, output, |_| Ok(())).await?;
    println!(
        "wrote {} ({size} bytes): {} version(s), {} referrer(s), {} blob(s)",
        output.display(),
        report["artifacts"].as_array().map_or(0, Vec::len),
        text(&report["referrers"]),
        text(&report["blobs"])
    );
    Ok(())
}

async fn import(client: &ApiClient, file: &Path) -> CliResult {
    let opened = open_file(file).await?;
    let path = "/api/v1/artifact-store/import";
    let req = client
        .request(Method::POST, path)
        .header("content-type", "application/x-tar")
        .body(streamed(opened));
    let resp = client.execute(path, req).await?;
    let answer: Value = client.json(path, resp).await?;
    let r = &answer["report"];
    let list = |v: &Value| {
        v.as_array()
            .into_iter()
            .flatten()
            .map(|a| format!("{}:{}", text(&a["service"]), text(&a["version"])))
            .collect::<Vec<_>>()
            .join(", ")
    };
    println!("imported: {}", list(&r["imported"]));
    for (label, key) in [
        ("gained platforms", "merged"),
        ("already present", "alreadyPresent"),
    ] {
        if r[key].as_array().is_some_and(|a| !a.is_empty()) {
            println!("{label}: {}", list(&r[key]));
        }
    }
    println!(
        "{} blob(s) and {} referrer(s) added",
        text(&r["blobsAdded"]),
        text(&r["referrersAdded"])
    );
    for a in answer["resources"].as_array().into_iter().flatten() {
        println!(
            "{} {} {} (revision {})",
            text(&a["kind"]),
            text(&a["name"]),
            text(&a["action"]),
            text(&a["revision"])
        );
    }
    for p in answer["resourceProblems"].as_array().into_iter().flatten() {
        println!("not recorded as a resource: {}", text(p));
    }
    Ok(())
}
