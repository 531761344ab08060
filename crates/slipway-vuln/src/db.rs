//! The in-memory vulnerability database: advisories indexed by (ecosystem, package name), their
//! ranges compiled to ordered versions, the matching of packages against them, and the compact
//! snapshot format an imported copy is kept in.
//!
//! Pure: built from parsed [`Advisory`] values or snapshot bytes; the file and ZIP reading is in
//! [`crate::source`].

use std::collections::{BTreeSet, HashMap};

use serde::{Deserialize, Serialize};

use crate::osv::{Advisory, RangeEvent};
use crate::package::{Package, PackageSource};
use crate::scan::Finding;
use crate::version::{Ecosystem, OrderedVersion};

/// Counts describing what a database holds and what was left out while building it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DbStats {
    /// Advisories kept (not withdrawn, one per id).
    pub records: usize,
    /// Advisories dropped because they carry `withdrawn`.
    pub skipped_withdrawn: usize,
    /// Advisories dropped because a record with the same id and a later `modified` was kept.
    pub replaced_duplicates: usize,
    /// `SEMVER`/`ECOSYSTEM` ranges that can never match: their ecosystem has no version order
    /// here, or one of their versions does not parse in it.
    pub unusable_ranges: usize,
}

/// Where a compiled range event sits: `None` is the `introduced: "0"` lower bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum EventKind {
    // Order matters on ties: at one version, entering the range comes before leaving it.
    Introduced,
    Fixed,
    LastAffected,
    Limit,
}

#[derive(Debug, Clone)]
struct CompiledRange {
    /// Sorted by version (the lowest bound first), then by kind.
    events: Vec<(Option<OrderedVersion>, EventKind)>,
}

impl CompiledRange {
    fn compile(ecosystem: &Ecosystem, events: &[RangeEvent]) -> Option<CompiledRange> {
        let mut compiled = Vec::with_capacity(events.len());
        for event in events {
            let (version, kind) = match event {
                RangeEvent::Introduced(version) => (version, EventKind::Introduced),
                RangeEvent::Fixed(version) => (version, EventKind::Fixed),
                RangeEvent::LastAffected(version) => (version, EventKind::LastAffected),
                RangeEvent::Limit(version) => (version, EventKind::Limit),
            };
            if kind == EventKind::Introduced && version.trim() == "0" {
                compiled.push((None, kind));
            } else {
                compiled.push((Some(ecosystem.parse_version(version)?), kind));
            }
        }
        compiled.sort();
        Some(CompiledRange { events: compiled })
    }

    /// OSV's range walk: the events at or below the version decide; `last_affected` still covers
    /// its own version, `fixed` and `limit` do not.
    fn contains(&self, version: &OrderedVersion) -> bool {
        let mut affected = false;
        for (bound, kind) in &self.events {
            let at_or_below = bound.as_ref().is_none_or(|bound| bound <= version);
            match kind {
                EventKind::Introduced if at_or_below => affected = true,
                EventKind::Fixed | EventKind::Limit if at_or_below => affected = false,
                EventKind::LastAffected if bound.as_ref().is_none_or(|bound| bound < version) => {
                    affected = false
                }
                _ => break,
            }
        }
        affected
    }
}

#[derive(Debug, Clone)]
struct IndexedEntry {
    advisory: usize,
    affected: usize,
    ranges: Vec<CompiledRange>,
}

/// An OSV vulnerability database ready to scan.
#[derive(Debug, Clone, Default)]
pub struct VulnDb {
    advisories: Vec<Advisory>,
    index: HashMap<(Ecosystem, String), Vec<IndexedEntry>>,
    stats: DbStats,
}

const SNAPSHOT_FORMAT: &str = "slipway-osv-snapshot/1";

#[derive(Serialize, Deserialize)]
struct Snapshot {
    format: String,
    stats: DbStats,
    advisories: Vec<Advisory>,
}

/// A snapshot that cannot be read back.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("osv snapshot: {0}")]
    Json(#[from] serde_json::Error),
    #[error("osv snapshot: format {found:?} is not {SNAPSHOT_FORMAT:?}")]
    Format { found: String },
}

impl VulnDb {
    /// Builds the database: withdrawn advisories are dropped and counted, of two records with one
    /// id the later `modified` is kept.
    pub fn from_advisories(advisories: impl IntoIterator<Item = Advisory>) -> VulnDb {
        let mut stats = DbStats::default();
        let mut by_id: HashMap<String, Advisory> = HashMap::new();
        for advisory in advisories {
            if advisory.withdrawn.is_some() {
                stats.skipped_withdrawn += 1;
                continue;
            }
            match by_id.get(&advisory.id) {
                Some(kept) if kept.modified >= advisory.modified => stats.replaced_duplicates += 1,
                Some(_) => {
                    stats.replaced_duplicates += 1;
                    by_id.insert(advisory.id.clone(), advisory);
                }
                None => {
                    by_id.insert(advisory.id.clone(), advisory);
                }
            }
        }
        let mut advisories: Vec<Advisory> = by_id.into_values().collect();
        advisories.sort_by(|left, right| left.id.cmp(&right.id));
        Self::index(advisories, stats)
    }

    fn index(advisories: Vec<Advisory>, mut stats: DbStats) -> VulnDb {
        let mut index: HashMap<(Ecosystem, String), Vec<IndexedEntry>> = HashMap::new();
        stats.records = advisories.len();
        stats.unusable_ranges = 0;
        for (advisory_index, advisory) in advisories.iter().enumerate() {
            for (affected_index, affected) in advisory.affected.iter().enumerate() {
                let mut ranges = Vec::with_capacity(affected.ranges.len());
                for range in &affected.ranges {
                    match CompiledRange::compile(&affected.ecosystem, &range.events) {
                        Some(compiled) => ranges.push(compiled),
                        None => stats.unusable_ranges += 1,
                    }
                }
                index
                    .entry((affected.ecosystem.clone(), affected.name.clone()))
                    .or_default()
                    .push(IndexedEntry {
                        advisory: advisory_index,
                        affected: affected_index,
                        ranges,
                    });
            }
        }
        VulnDb {
            advisories,
            index,
            stats,
        }
    }

    /// What the database holds.
    pub fn stats(&self) -> &DbStats {
        &self.stats
    }

    /// The advisories, sorted by id.
    pub fn advisories(&self) -> &[Advisory] {
        &self.advisories
    }

    /// The compact snapshot: one JSON document of normalized advisories (no details or
    /// references) and the build counts.
    pub fn to_snapshot_json(&self) -> Result<Vec<u8>, SnapshotError> {
        Ok(serde_json::to_vec(&Snapshot {
            format: SNAPSHOT_FORMAT.to_owned(),
            stats: self.stats.clone(),
            advisories: self.advisories.clone(),
        })?)
    }

    /// Reads a snapshot written by [`VulnDb::to_snapshot_json`].
    pub fn from_snapshot_json(bytes: &[u8]) -> Result<VulnDb, SnapshotError> {
        let snapshot: Snapshot = serde_json::from_slice(bytes)?;
        if snapshot.format != SNAPSHOT_FORMAT {
            return Err(SnapshotError::Format {
                found: snapshot.format,
            });
        }
        Ok(Self::index(snapshot.advisories, snapshot.stats))
    }

    /// Whether a package is matched at all: registry packages only (git and path packages never
    /// are, as in cargo-audit); crates from another Cargo registry are other crates, while npm,
    /// PyPI and Go mirrors serve the public packages.
    fn is_matchable(package: &Package) -> bool {
        match &package.source {
            PackageSource::Registry => true,
            PackageSource::OtherRegistry { .. } => package.ecosystem != Ecosystem::CratesIo,
            PackageSource::Git { .. } | PackageSource::Local => false,
        }
    }

    /// The findings for one package: one per advisory that affects its version (through a range
    /// or the explicit `versions` list), unsorted.
    pub fn findings_for(&self, package: &Package) -> Vec<Finding> {
        if !Self::is_matchable(package) {
            return Vec::new();
        }
        let name = package.ecosystem.normalize_name(&package.name);
        let Some(entries) = self.index.get(&(package.ecosystem.clone(), name)) else {
            return Vec::new();
        };
        let version = package.ecosystem.parse_version(&package.version);
        let mut seen = BTreeSet::new();
        let mut findings = Vec::new();
        for entry in entries {
            let (Some(advisory), Some(affected)) = (
                self.advisories.get(entry.advisory),
                self.advisories
                    .get(entry.advisory)
                    .and_then(|advisory| advisory.affected.get(entry.affected)),
            ) else {
                continue;
            };
            let in_range = version
                .as_ref()
                .is_some_and(|version| entry.ranges.iter().any(|range| range.contains(version)));
            let listed = || {
                affected
                    .versions
                    .iter()
                    .any(|listed| package.ecosystem.same_version(listed, &package.version))
            };
            if (in_range || listed()) && seen.insert(entry.advisory) {
                findings.push(Finding {
                    id: advisory.id.clone(),
                    aliases: advisory.aliases.clone(),
                    ecosystem: package.ecosystem.clone(),
                    package: package.name.clone(),
                    version: package.version.clone(),
                    severity: affected.severity.or(advisory.severity),
                    kind: affected.kind,
                    summary: advisory.summary.clone(),
                });
            }
        }
        findings
    }

    /// Scans packages: every finding once per (advisory, package, version), in the order of
    /// [`Finding`]'s sort key.
    pub fn scan(&self, packages: &[Package]) -> Vec<Finding> {
        let mut findings: Vec<Finding> = packages
            .iter()
            .flat_map(|package| self.findings_for(package))
            .collect();
        findings.sort_by(Finding::sort_key_cmp);
        findings.dedup_by(|left, right| left.sort_key_cmp(right).is_eq());
        findings
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::osv::{AffectedPackage, AffectedRange, FindingKind};
    use crate::severity::Severity;

    fn range(events: &[(&str, &str)]) -> AffectedRange {
        AffectedRange {
            events: events
                .iter()
                .map(|(kind, version)| {
                    let version = (*version).to_owned();
                    match *kind {
                        "introduced" => RangeEvent::Introduced(version),
                        "fixed" => RangeEvent::Fixed(version),
                        "last_affected" => RangeEvent::LastAffected(version),
                        _ => RangeEvent::Limit(version),
                    }
                })
                .collect(),
        }
    }

    fn advisory(
        id: &str,
        ecosystem: Ecosystem,
        name: &str,
        ranges: Vec<AffectedRange>,
    ) -> Advisory {
        Advisory {
            id: id.to_owned(),
            aliases: vec![format!("CVE-{id}")],
            modified: "2024-01-01T00:00:00Z".to_owned(),
            published: None,
            withdrawn: None,
            summary: Some(format!("summary of {id}")),
            severity: Some(Severity::High),
            affected: vec![AffectedPackage {
                ecosystem,
                name: name.to_owned(),
                purl: None,
                ranges,
                versions: Vec::new(),
                severity: None,
                kind: FindingKind::Vulnerability,
            }],
        }
    }

    fn package(ecosystem: Ecosystem, name: &str, version: &str) -> Package {
        Package {
            ecosystem,
            name: name.to_owned(),
            version: version.to_owned(),
            source: PackageSource::Registry,
        }
    }

    /// One range, many versions: whether each version is affected.
    fn check(ecosystem: Ecosystem, events: &[(&str, &str)], cases: &[(&str, bool)]) {
        let db = VulnDb::from_advisories([advisory(
            "A-1",
            ecosystem.clone(),
            "pkg",
            vec![range(events)],
        )]);
        for (version, affected) in cases {
            let found = !db
                .findings_for(&package(ecosystem.clone(), "pkg", version))
                .is_empty();
            assert_eq!(found, *affected, "{ecosystem} {events:?} at {version}");
        }
    }

    #[test]
    fn range_semantics() {
        // introduced "0" is below every version, pre-releases included.
        check(
            Ecosystem::CratesIo,
            &[("introduced", "0"), ("fixed", "1.2.0")],
            &[
                ("0.0.0-0", true),
                ("1.1.9", true),
                ("1.2.0-rc.1", true),
                ("1.2.0", false),
                ("2.0.0", false),
            ],
        );
        // Several intervals, given out of order: events are sorted first.
        check(
            Ecosystem::CratesIo,
            &[
                ("fixed", "0.5.3"),
                ("introduced", "0.6.0"),
                ("introduced", "0.5.0"),
                ("fixed", "0.6.1"),
            ],
            &[
                ("0.4.9", false),
                ("0.5.0", true),
                ("0.5.2", true),
                ("0.5.3", false),
                ("0.5.9", false),
                ("0.6.0", true),
                ("0.6.1", false),
            ],
        );
        // last_affected covers its own version.
        check(
            Ecosystem::Npm,
            &[("introduced", "1.0.0"), ("last_affected", "1.4.0")],
            &[
                ("0.9.0", false),
                ("1.0.0", true),
                ("1.4.0", true),
                ("1.4.1", false),
            ],
        );
        // limit: nothing at or above it.
        check(
            Ecosystem::Npm,
            &[("introduced", "0"), ("limit", "2.0.0")],
            &[("1.9.9", true), ("2.0.0", false), ("3.0.0", false)],
        );
        // No upper bound: affected from introduced on.
        check(
            Ecosystem::Go,
            &[("introduced", "1.2.0")],
            &[
                ("v1.1.0", false),
                ("v1.2.0", true),
                ("v9.0.0+incompatible", true),
            ],
        );
        check(
            Ecosystem::PyPi,
            &[("introduced", "1.0"), ("fixed", "1.0.post1")],
            &[("1.0rc1", false), ("1.0.0", true), ("1.0.post1", false)],
        );
    }

    #[test]
    fn explicit_versions_and_unusable_ranges() {
        let mut listed = advisory(
            "B-1",
            Ecosystem::Other("Maven".into()),
            "org:x",
            vec![range(&[("introduced", "0")])],
        );
        listed.affected[0].versions = vec!["1.0".into(), "1.1".into()];
        let mut bad = advisory(
            "B-2",
            Ecosystem::CratesIo,
            "y",
            vec![range(&[("introduced", "0"), ("fixed", "not a version")])],
        );
        bad.affected[0].versions = vec!["0.3.0".into()];
        let db = VulnDb::from_advisories([listed, bad]);
        assert_eq!(
            db.stats().unusable_ranges,
            1,
            "only the crates.io range has an order"
        );
        let maven = |version| package(Ecosystem::Other("Maven".into()), "org:x", version);
        assert_eq!(db.findings_for(&maven("1.1")).len(), 1);
        assert!(db.findings_for(&maven("1.2")).is_empty());
        // The crates.io range cannot match, the listed version still does.
        assert!(
            db.findings_for(&package(Ecosystem::CratesIo, "y", "0.2.0"))
                .is_empty()
        );
        assert_eq!(
            db.findings_for(&package(Ecosystem::CratesIo, "y", "0.3.0+meta"))
                .len(),
            1
        );
    }

    #[test]
    fn sources_names_and_deduplication() {
        let db = VulnDb::from_advisories([
            advisory(
                "C-1",
                Ecosystem::CratesIo,
                "krate",
                vec![range(&[("introduced", "0")])],
            ),
            advisory(
                "C-2",
                Ecosystem::PyPi,
                "zope-interface",
                vec![range(&[("introduced", "0")])],
            ),
            advisory(
                "C-3",
                Ecosystem::Npm,
                "left-pad",
                vec![range(&[("introduced", "0")])],
            ),
        ]);
        let mut krate = package(Ecosystem::CratesIo, "krate", "1.0.0");
        for (source, matched) in [
            (PackageSource::Registry, true),
            (
                PackageSource::Git {
                    url: "https://g".into(),
                },
                false,
            ),
            (PackageSource::Local, false),
            (
                PackageSource::OtherRegistry {
                    url: "https://r".into(),
                },
                false,
            ),
        ] {
            krate.source = source.clone();
            assert_eq!(!db.findings_for(&krate).is_empty(), matched, "{source:?}");
        }
        let mut mirrored = package(Ecosystem::Npm, "left-pad", "1.0.0");
        mirrored.source = PackageSource::OtherRegistry {
            url: "https://mirror".into(),
        };
        assert_eq!(
            db.findings_for(&mirrored).len(),
            1,
            "npm mirrors serve the public packages"
        );
        let python = package(Ecosystem::PyPi, "Zope.Interface", "5.0");
        let findings = db.scan(&[python.clone(), python]);
        assert_eq!(findings.len(), 1, "a package listed twice is reported once");
        assert_eq!(
            findings[0].package, "Zope.Interface",
            "the lockfile's spelling is kept"
        );
        assert_eq!(findings[0].aliases, ["CVE-C-2"]);
    }

    #[test]
    fn withdrawn_duplicates_and_snapshot_round_trip() {
        let mut withdrawn = advisory(
            "D-1",
            Ecosystem::CratesIo,
            "a",
            vec![range(&[("introduced", "0")])],
        );
        withdrawn.withdrawn = Some("2024-02-01T00:00:00Z".into());
        let older = advisory(
            "D-2",
            Ecosystem::CratesIo,
            "a",
            vec![range(&[("introduced", "0")])],
        );
        let mut newer = older.clone();
        newer.modified = "2025-01-01T00:00:00Z".into();
        newer.affected[0].ranges = vec![range(&[("introduced", "0"), ("fixed", "1.0.0")])];
        let db = VulnDb::from_advisories([withdrawn, newer, older]);
        assert_eq!(
            db.stats(),
            &DbStats {
                records: 1,
                skipped_withdrawn: 1,
                replaced_duplicates: 1,
                unusable_ranges: 0
            }
        );
        let a = |version| package(Ecosystem::CratesIo, "a", version);
        assert_eq!(
            db.scan(&[a("0.9.0"), a("1.0.0")]).len(),
            1,
            "the newer record (fixed in 1.0.0) is kept"
        );

        let bytes = db.to_snapshot_json().unwrap();
        let reloaded = VulnDb::from_snapshot_json(&bytes).unwrap();
        assert_eq!(reloaded.stats(), db.stats());
        assert_eq!(reloaded.advisories(), db.advisories());
        assert_eq!(
            reloaded.scan(&[a("0.9.0"), a("1.0.0")]),
            db.scan(&[a("0.9.0"), a("1.0.0")])
        );

        let wrong = String::from_utf8(bytes)
            .unwrap()
            .replace(SNAPSHOT_FORMAT, "other/9");
        let error = VulnDb::from_snapshot_json(wrong.as_bytes()).unwrap_err();
        assert!(error.to_string().contains("format \"other/9\""), "{error}");
        assert!(VulnDb::from_snapshot_json(b"{").is_err());
    }
}
