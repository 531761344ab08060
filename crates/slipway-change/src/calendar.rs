//! Calendars: change windows and freezes (kind `Calendar`), their inheritance, and the decisions
//! built on them — is a change allowed now, the next slot that fits, and the conflicts of a
//! proposed slot.
//!
//! A calendar has a scope: the organisation (no environment, no service), an environment, or a
//! service (optionally in one environment). A period — window or freeze — is a cron expression
//! with a duration, an RFC 5545 RRULE with a DTSTART and a duration, or a one-off range; recurring
//! ones are read in an IANA time zone (the period's, else the calendar's, else UTC).
//!
//! **Inheritance.** For a service in an environment, every calendar whose scope covers it
//! applies. Freezes are the union of all levels: any active freeze denies. Windows intersect by
//! level: for each level (organisation, environment, service) at which some applicable calendar
//! defines windows, the moment must be inside one of that level's windows; a level without
//! windows does not restrict. A calendar with `lockdown: true` (organisation scope only) denies
//! everything: "denied: lockdown".
//!
//! **Daylight saving.** Recurrences are expanded on the wall clock, then placed on the time line:
//! - a start that falls in a gap (a wall-clock time that does not exist, e.g. 01:30 on the last
//!   Sunday of March in Europe/London) begins at the first instant after the gap (02:00 BST, i.e.
//!   the moment of the transition);
//! - a start that falls in a fold (a repeated wall-clock time, e.g. 01:30 on the last Sunday of
//!   October in Europe/London) uses the first occurrence (01:30 BST);
//! - the duration is real elapsed time from that start, so a 2 h window is always 2 h long, and
//!   its end on the wall clock moves by the shift.
//!
//! All time arithmetic is jiff's; the tz database is bundled into the binary, so evaluation reads
//! no files.

use crate::request::{ChangeRecord, impacted_services};
use crate::rrule::{RecurrenceRule, Until};
use jiff::civil::DateTime;
use jiff::tz::{AmbiguousOffset, TimeZone};
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use slipway_spec::Diagnostic;
use slipway_spec::SpecRules;
use std::collections::{BTreeMap, BTreeSet};

/// Which changes a calendar governs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Scope {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
}

/// Organisation, environment or service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ScopeLevel {
    Organisation,
    Environment,
    Service,
}

impl ScopeLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            ScopeLevel::Organisation => "organisation",
            ScopeLevel::Environment => "environment",
            ScopeLevel::Service => "service",
        }
    }
}

impl Scope {
    pub fn level(&self) -> ScopeLevel {
        match (&self.environment, &self.service) {
            (_, Some(_)) => ScopeLevel::Service,
            (Some(_), None) => ScopeLevel::Environment,
            (None, None) => ScopeLevel::Organisation,
        }
    }

    pub fn covers(&self, service: &str, environment: &str) -> bool {
        self.environment.as_deref().is_none_or(|e| e == environment)
            && self.service.as_deref().is_none_or(|s| s == service)
    }
}

/// A window or a freeze: exactly one of `cron`, `rrule` (with `dtstart`), or `start` + `end`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PeriodSpec {
    pub name: String,
    /// IANA zone of this period; the calendar's when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
    /// A five-field cron expression (minute hour day-of-month month day-of-week).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cron: Option<String>,
    /// An RFC 5545 RRULE, e.g. `FREQ=WEEKLY;BYDAY=TU,TH`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rrule: Option<String>,
    /// The RRULE's first start, a wall-clock date-time in the zone, e.g. `2025-01-07T22:00:00`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dtstart: Option<String>,
    /// How long each occurrence lasts, e.g. `2h`, `90m`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<SignedDuration>,
    /// A one-off range: an RFC 3339 instant, or a wall-clock date-time in the zone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// A calendar (kind `Calendar`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CalendarSpec {
    #[serde(default)]
    pub scope: Scope,
    /// The default IANA zone of the periods.
    #[serde(default = "utc_name")]
    pub time_zone: String,
    /// Organisation scope only: deny every change and pause those in flight.
    #[serde(default)]
    pub lockdown: bool,
    #[serde(default)]
    pub windows: Vec<PeriodSpec>,
    #[serde(default)]
    pub freezes: Vec<PeriodSpec>,
}

fn utc_name() -> String {
    "UTC".into()
}

impl CalendarSpec {
    /// Semantic checks; paths start at `spec`.
    pub fn validate(&self) -> Vec<Diagnostic> {
        match CompiledCalendar::compile("", self) {
            Ok(_) => Vec::new(),
            Err(d) => d,
        }
    }
}

impl SpecRules for CalendarSpec {
    fn rules(&self) -> Vec<Diagnostic> {
        self.validate()
    }
}

/// A calendar resource: its name and spec.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Calendar {
    pub name: String,
    pub spec: CalendarSpec,
}

/// When a period happens.
#[derive(Debug, Clone)]
enum Occurs {
    Cron(Box<croner::Cron>),
    Rule {
        rule: RecurrenceRule,
        dtstart: DateTime,
    },
    Once {
        start: Timestamp,
        end: Timestamp,
    },
}

#[derive(Debug, Clone)]
struct Period {
    /// `calendar/period`.
    name: String,
    zone: TimeZone,
    occurs: Occurs,
    duration: SignedDuration,
}

#[derive(Debug, Clone)]
struct CompiledCalendar {
    name: String,
    scope: Scope,
    lockdown: bool,
    windows: Vec<Period>,
    freezes: Vec<Period>,
}

/// Calendars parsed and ready to answer questions.
#[derive(Debug, Clone, Default)]
pub struct CalendarSet {
    calendars: Vec<CompiledCalendar>,
}

/// At most this many occurrences of one period are placed per question.
const MAX_OCCURRENCES: usize = 20_000;

impl CompiledCalendar {
    fn compile(name: &str, spec: &CalendarSpec) -> Result<CompiledCalendar, Vec<Diagnostic>> {
        let mut d = Vec::new();
        let zone = match TimeZone::get(&spec.time_zone) {
            Ok(z) => Some(z),
            Err(_) => {
                d.push(Diagnostic::new(
                    "spec.timeZone",
                    format!("{:?} is not an IANA time zone", spec.time_zone),
                ));
                None
            }
        };
        if spec.lockdown && spec.scope.level() != ScopeLevel::Organisation {
            d.push(Diagnostic::new(
                "spec.lockdown",
                "only an organisation calendar (no scope) can lock down",
            ));
        }
        let mut compile_all = |field: &str, periods: &[PeriodSpec]| -> Vec<Period> {
            let mut out = Vec::new();
            let mut names = BTreeSet::new();
            for (i, p) in periods.iter().enumerate() {
                let path = format!("spec.{field}[{i}]");
                if !names.insert(p.name.as_str()) {
                    d.push(Diagnostic::new(
                        format!("{path}.name"),
                        format!("{:?} is used twice", p.name),
                    ));
                }
                match compile_period(name, p, zone.as_ref(), &path) {
                    Ok(period) => out.push(period),
                    Err(e) => d.extend(e),
                }
            }
            out
        };
        let windows = compile_all("windows", &spec.windows);
        let freezes = compile_all("freezes", &spec.freezes);
        if d.is_empty() {
            Ok(CompiledCalendar {
                name: name.to_string(),
                scope: spec.scope.clone(),
                lockdown: spec.lockdown,
                windows,
                freezes,
            })
        } else {
            Err(d)
        }
    }
}

fn compile_period(
    calendar: &str,
    p: &PeriodSpec,
    calendar_zone: Option<&TimeZone>,
    path: &str,
) -> Result<Period, Vec<Diagnostic>> {
    let mut d = Vec::new();
    if p.name.trim().is_empty() {
        d.push(Diagnostic::new(format!("{path}.name"), "must not be empty"));
    }
    let zone = match &p.time_zone {
        Some(z) => match TimeZone::get(z) {
            Ok(z) => Some(z),
            Err(_) => {
                d.push(Diagnostic::new(
                    format!("{path}.timeZone"),
                    format!("{z:?} is not an IANA time zone"),
                ));
                None
            }
        },
        None => calendar_zone.cloned(),
    };
    let kinds = [
        p.cron.is_some(),
        p.rrule.is_some(),
        p.start.is_some() || p.end.is_some(),
    ];
    if kinds.iter().filter(|k| **k).count() != 1 {
        d.push(Diagnostic::new(
            path,
            "give exactly one of cron, rrule (with dtstart), or start and end",
        ));
        return Err(d);
    }
    let Some(zone) = zone else {
        return Err(d);
    };
    let recurring_duration = |d: &mut Vec<Diagnostic>| match p.duration {
        Some(x) if x > SignedDuration::ZERO => Some(x),
        Some(x) => {
            d.push(Diagnostic::new(
                format!("{path}.duration"),
                format!("{} is not a positive duration", show_duration(x)),
            ));
            None
        }
        None => {
            d.push(Diagnostic::new(
                format!("{path}.duration"),
                "is required with cron or rrule",
            ));
            None
        }
    };
    let occurs = if let Some(cron) = &p.cron {
        if p.dtstart.is_some() {
            d.push(Diagnostic::new(
                format!("{path}.dtstart"),
                "belongs with rrule, not cron",
            ));
        }
        let parser = croner::parser::CronParser::builder()
            .seconds(croner::parser::Seconds::Disallowed)
            .year(croner::parser::Year::Disallowed)
            .build();
        let never = |c: &croner::Cron| {
            let probe = jiff::civil::date(2000, 1, 1)
                .at(0, 0, 0, 0)
                .to_zoned(TimeZone::UTC);
            probe.is_ok_and(|p| c.find_next_occurrence(&p, true).is_err())
        };
        match parser.parse(cron) {
            Ok(c) if never(&c) => {
                d.push(Diagnostic::new(
                    format!("{path}.cron"),
                    format!("{cron:?} never matches (e.g. a day that no month has)"),
                ));
                None
            }
            Ok(c) => Some(Occurs::Cron(Box::new(c))),
            Err(e) => {
                d.push(Diagnostic::new(
                    format!("{path}.cron"),
                    format!("{cron:?} is not a five-field cron expression: {e}"),
                ));
                None
            }
        }
    } else if let Some(rrule) = &p.rrule {
        let rule = RecurrenceRule::parse(rrule)
            .map_err(|e| d.push(Diagnostic::new(format!("{path}.rrule"), e)))
            .ok();
        let dtstart = match &p.dtstart {
            None => {
                d.push(Diagnostic::new(
                    format!("{path}.dtstart"),
                    "is required with rrule",
                ));
                None
            }
            Some(text) => text
                .parse::<DateTime>()
                .map_err(|_| {
                    d.push(Diagnostic::new(
                        format!("{path}.dtstart"),
                        format!("{text:?} is not a wall-clock date-time like 2025-01-07T22:00:00"),
                    ))
                })
                .ok(),
        };
        rule.zip(dtstart)
            .map(|(rule, dtstart)| Occurs::Rule { rule, dtstart })
    } else {
        if p.duration.is_some() {
            d.push(Diagnostic::new(
                format!("{path}.duration"),
                "belongs with cron or rrule; a one-off range has start and end",
            ));
        }
        let mut instant = |field: &str, value: &Option<String>| match value {
            None => {
                d.push(Diagnostic::new(
                    format!("{path}.{field}"),
                    "is required for a one-off range",
                ));
                None
            }
            Some(text) => parse_instant(text, &zone)
                .map_err(|e| d.push(Diagnostic::new(format!("{path}.{field}"), e)))
                .ok(),
        };
        let start = instant("start", &p.start);
        let end = instant("end", &p.end);
        match (start, end) {
            (Some(start), Some(end)) if end <= start => {
                d.push(Diagnostic::new(
                    format!("{path}.end"),
                    format!("{end} is not after start {start}"),
                ));
                None
            }
            (Some(start), Some(end)) => Some(Occurs::Once { start, end }),
            _ => None,
        }
    };
    let duration = match occurs {
        Some(Occurs::Once { start, end }) => Some(end.duration_since(start)),
        Some(_) => recurring_duration(&mut d),
        None => None,
    };
    match (occurs, duration) {
        (Some(occurs), Some(duration)) if d.is_empty() => Ok(Period {
            name: format!("{calendar}/{}", p.name),
            zone,
            occurs,
            duration,
        }),
        _ => Err(d),
    }
}

/// An RFC 3339 instant, or a wall-clock date-time (or date) read in `zone`.
fn parse_instant(text: &str, zone: &TimeZone) -> Result<Timestamp, String> {
    if let Ok(ts) = text.parse::<Timestamp>() {
        return Ok(ts);
    }
    let civil = text
        .parse::<DateTime>()
        .or_else(|_| text.parse::<jiff::civil::Date>().map(|d| d.to_datetime(jiff::civil::Time::midnight())))
        .map_err(|_| {
            format!("{text:?} is not an instant (2025-12-24T00:00:00Z) or a wall-clock date-time (2025-12-24T00:00:00)")
        })?;
    place_on_time_line(zone, civil).ok_or_else(|| format!("{text:?} cannot be placed in the zone"))
}

/// Places a wall-clock time on the time line: in a gap, the first instant after it (the moment of
/// the transition); in a fold, the first occurrence.
pub fn place_on_time_line(zone: &TimeZone, civil: DateTime) -> Option<Timestamp> {
    match zone.to_ambiguous_timestamp(civil).offset() {
        AmbiguousOffset::Unambiguous { offset } => offset.to_timestamp(civil).ok(),
        AmbiguousOffset::Fold { before, .. } => before.to_timestamp(civil).ok(),
        AmbiguousOffset::Gap { before, .. } => {
            // Read with the offset before the gap, the wall clock lands after the transition;
            // the transition itself is the last one at or before that instant.
            let probe = before
                .to_timestamp(civil)
                .ok()?
                .checked_add(SignedDuration::from_nanos(1))
                .ok()?;
            zone.preceding(probe).next().map(|t| t.timestamp())
        }
    }
}

/// A duration as people write it in specs: `2h 30m`, `-1h`, `0s`.
pub fn show_duration(d: SignedDuration) -> String {
    if d < SignedDuration::ZERO {
        format!("-{:#}", d.abs())
    } else {
        format!("{d:#}")
    }
}

/// A half-open range of instants `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Slot {
    pub start: Timestamp,
    pub end: Timestamp,
}

impl Slot {
    fn overlaps(&self, other: &Slot) -> bool {
        self.start < other.end && other.start < self.end
    }
}

impl Period {
    /// Occurrences intersecting `[from, to)`, in order of start.
    fn occurrences(&self, from: Timestamp, to: Timestamp) -> Vec<Slot> {
        let mut out = Vec::new();
        let mut push = |start: Timestamp| -> bool {
            if start >= to {
                return false;
            }
            let end = start.checked_add(self.duration).unwrap_or(Timestamp::MAX);
            if end > from {
                out.push(Slot { start, end });
            }
            out.len() < MAX_OCCURRENCES
        };
        // Start the wall-clock walk early enough to catch an occurrence that began before `from`
        // (a day more than the duration covers any zone shift).
        let lead = self
            .duration
            .checked_add(SignedDuration::from_hours(26))
            .unwrap_or(SignedDuration::MAX);
        let walk_from = from.checked_sub(lead).unwrap_or(Timestamp::MIN);
        let civil_from = self.zone.to_datetime(walk_from);
        match &self.occurs {
            Occurs::Once { start, .. } => {
                push(*start);
            }
            Occurs::Cron(cron) => {
                // croner walks the wall clock; a UTC zone has no gaps or folds, so every match is
                // a plain wall-clock time, placed on the time line by our own rule.
                let Ok(mut cursor) = civil_from.to_zoned(TimeZone::UTC) else {
                    return out;
                };
                let mut inclusive = true;
                for _ in 0..MAX_OCCURRENCES * 2 {
                    let Ok(next) = cron.find_next_occurrence(&cursor, inclusive) else {
                        break;
                    };
                    inclusive = false;
                    let Some(start) = place_on_time_line(&self.zone, next.datetime()) else {
                        break;
                    };
                    if !push(start) {
                        break;
                    }
                    cursor = next;
                }
            }
            Occurs::Rule { rule, dtstart } => {
                let zone = &self.zone;
                let until = |civil: DateTime| match rule.until {
                    Some(Until::Instant(u)) => {
                        place_on_time_line(zone, civil).is_some_and(|t| t <= u)
                    }
                    _ => true,
                };
                for civil in rule.expand(*dtstart, civil_from, &until) {
                    let Some(start) = place_on_time_line(zone, civil) else {
                        break;
                    };
                    if !push(start) {
                        break;
                    }
                }
            }
        }
        out
    }
}

/// Sorts and merges touching or overlapping ranges.
fn merge(mut slots: Vec<Slot>) -> Vec<Slot> {
    slots.sort_by_key(|s| (s.start, s.end));
    let mut out: Vec<Slot> = Vec::new();
    for s in slots {
        match out.last_mut() {
            Some(last) if s.start <= last.end => last.end = last.end.max(s.end),
            _ => out.push(s),
        }
    }
    out
}

fn intersect(a: &[Slot], b: &[Slot]) -> Vec<Slot> {
    let mut out = Vec::new();
    for x in a {
        for y in b {
            let start = x.start.max(y.start);
            let end = x.end.min(y.end);
            if start < end {
                out.push(Slot { start, end });
            }
        }
    }
    merge(out)
}

fn subtract(a: &[Slot], b: &[Slot]) -> Vec<Slot> {
    let mut out = Vec::new();
    for x in a {
        let mut pieces = vec![*x];
        for y in b {
            pieces = pieces
                .into_iter()
                .flat_map(|p| {
                    let mut keep = Vec::new();
                    if !p.overlaps(y) {
                        keep.push(p);
                    } else {
                        if p.start < y.start {
                            keep.push(Slot {
                                start: p.start,
                                end: y.start,
                            });
                        }
                        if y.end < p.end {
                            keep.push(Slot {
                                start: y.end,
                                end: p.end,
                            });
                        }
                    }
                    keep
                })
                .collect();
        }
        out.extend(pieces);
    }
    merge(out)
}

/// Whether a change may happen at an instant, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CalendarDecision {
    pub allowed: bool,
    pub lockdown: bool,
    /// The window of the most specific level that defines windows, when inside one.
    pub inside_window: Option<String>,
    /// Levels that define windows and whose windows the moment is outside of.
    pub outside_windows_of: Vec<ScopeLevel>,
    pub freezes_active: Vec<String>,
    pub reasons: Vec<String>,
}

impl CalendarDecision {
    /// Denied for window or freeze reasons only, which an approved exception may waive.
    pub fn waivable(&self) -> bool {
        !self.allowed && !self.lockdown
    }
}

impl CalendarSet {
    /// Parses every calendar; diagnostics carry the calendar's name as their source.
    pub fn compile(calendars: &[Calendar]) -> Result<CalendarSet, Vec<Diagnostic>> {
        let mut out = Vec::new();
        let mut errors = Vec::new();
        for c in calendars {
            match CompiledCalendar::compile(&c.name, &c.spec) {
                Ok(compiled) => out.push(compiled),
                Err(d) => errors.extend(
                    d.into_iter()
                        .map(|x| x.with_source(&format!("calendar {}", c.name))),
                ),
            }
        }
        if errors.is_empty() {
            Ok(CalendarSet { calendars: out })
        } else {
            Err(errors)
        }
    }

    fn applicable<'a>(
        &'a self,
        service: &'a str,
        environment: &'a str,
    ) -> impl Iterator<Item = &'a CompiledCalendar> + 'a {
        self.calendars
            .iter()
            .filter(move |c| c.scope.covers(service, environment))
    }

    fn lockdown_by(&self, service: &str, environment: &str) -> Vec<String> {
        self.applicable(service, environment)
            .filter(|c| c.lockdown)
            .map(|c| c.name.clone())
            .collect()
    }

    /// The window periods of each level that defines some, for (service, environment).
    fn windows_by_level<'a>(
        &'a self,
        service: &str,
        environment: &str,
    ) -> BTreeMap<ScopeLevel, Vec<&'a Period>> {
        let mut levels: BTreeMap<ScopeLevel, Vec<&Period>> = BTreeMap::new();
        for c in self
            .calendars
            .iter()
            .filter(|c| c.scope.covers(service, environment))
        {
            if !c.windows.is_empty() {
                levels
                    .entry(c.scope.level())
                    .or_default()
                    .extend(c.windows.iter());
            }
        }
        levels
    }

    fn freezes<'a>(
        &'a self,
        service: &'a str,
        environment: &'a str,
    ) -> impl Iterator<Item = &'a Period> + 'a {
        self.applicable(service, environment)
            .flat_map(|c| c.freezes.iter())
    }

    /// Whether a change to `service` in `environment` may happen at `at`.
    pub fn is_allowed(&self, at: Timestamp, service: &str, environment: &str) -> CalendarDecision {
        let mut reasons = Vec::new();
        let lockdown_by = self.lockdown_by(service, environment);
        let lockdown = !lockdown_by.is_empty();
        if lockdown {
            reasons.push(format!(
                "denied: lockdown (calendar {}); every change is paused",
                lockdown_by.join(", ")
            ));
        }
        let probe_end = at.checked_add(SignedDuration::from_nanos(1)).unwrap_or(at);
        let mut inside_window = None;
        let mut outside_windows_of = Vec::new();
        for (level, periods) in self.windows_by_level(service, environment) {
            let hit = periods.iter().find_map(|p| {
                p.occurrences(at, probe_end)
                    .first()
                    .map(|s| (p.name.clone(), *s))
            });
            match hit {
                Some((name, slot)) => {
                    reasons.push(format!(
                        "inside {} window {name} ({} to {})",
                        level.as_str(),
                        slot.start,
                        slot.end
                    ));
                    inside_window = Some(name);
                }
                None => {
                    reasons.push(format!(
                        "outside every {} window ({})",
                        level.as_str(),
                        periods
                            .iter()
                            .map(|p| p.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ));
                    outside_windows_of.push(level);
                }
            }
        }
        let mut freezes_active = Vec::new();
        for f in self.freezes(service, environment) {
            if let Some(slot) = f.occurrences(at, probe_end).first() {
                reasons.push(format!("freeze {} is active until {}", f.name, slot.end));
                freezes_active.push(f.name.clone());
            }
        }
        let allowed = !lockdown && outside_windows_of.is_empty() && freezes_active.is_empty();
        if allowed && inside_window.is_none() {
            reasons.push(
                "no windows restrict this service and environment, and no freeze is active".into(),
            );
        }
        CalendarDecision {
            allowed,
            lockdown,
            inside_window,
            outside_windows_of,
            freezes_active,
            reasons,
        }
    }

    /// The ranges within `[from, to)` where a change to `service` in `environment` is allowed.
    pub fn allowed_ranges(
        &self,
        from: Timestamp,
        to: Timestamp,
        service: &str,
        environment: &str,
    ) -> Vec<Slot> {
        if from >= to || !self.lockdown_by(service, environment).is_empty() {
            return Vec::new();
        }
        let mut allowed = vec![Slot {
            start: from,
            end: to,
        }];
        for periods in self.windows_by_level(service, environment).values() {
            let level: Vec<Slot> = merge(
                periods
                    .iter()
                    .flat_map(|p| p.occurrences(from, to))
                    .collect(),
            );
            allowed = intersect(&allowed, &level);
        }
        let frozen = merge(
            self.freezes(service, environment)
                .flat_map(|p| p.occurrences(from, to))
                .collect(),
        );
        subtract(&allowed, &frozen)
    }

    /// The earliest slot of `duration` at or after `from`, within `horizon`, where a change to
    /// `service` in `environment` is allowed throughout.
    pub fn next_allowed_slot(
        &self,
        from: Timestamp,
        duration: SignedDuration,
        horizon: SignedDuration,
        service: &str,
        environment: &str,
    ) -> Option<Slot> {
        let to = from.checked_add(horizon).ok()?.checked_add(duration).ok()?;
        self.allowed_ranges(from, to, service, environment)
            .into_iter()
            .find(|r| r.end.duration_since(r.start) >= duration)
            .and_then(|r| {
                Some(Slot {
                    start: r.start,
                    end: r.start.checked_add(duration).ok()?,
                })
            })
    }
}

/// Convenience over [`CalendarSet::is_allowed`].
pub fn is_allowed(
    at: Timestamp,
    service: &str,
    environment: &str,
    calendars: &CalendarSet,
) -> CalendarDecision {
    calendars.is_allowed(at, service, environment)
}

/// Convenience over [`CalendarSet::next_allowed_slot`].
pub fn next_allowed_slot(
    from: Timestamp,
    duration: SignedDuration,
    horizon: SignedDuration,
    service: &str,
    environment: &str,
    calendars: &CalendarSet,
) -> Option<Slot> {
    calendars.next_allowed_slot(from, duration, horizon, service, environment)
}

/// A change occupying a slot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScheduledChange {
    pub change_id: String,
    pub services: Vec<String>,
    pub environments: Vec<String>,
    pub slot: Slot,
}

impl ScheduledChange {
    /// The slot a change record occupies, when it has a planned window and is not finished.
    pub fn from_record(record: &ChangeRecord) -> Option<ScheduledChange> {
        if record.state.is_terminal() {
            return None;
        }
        let (start, end) = (record.spec.planned_start?, record.spec.planned_end?);
        Some(ScheduledChange {
            change_id: record.id.clone(),
            services: record.spec.services.clone(),
            environments: record.spec.environments.clone(),
            slot: Slot { start, end },
        })
    }
}

/// What kind of conflict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ConflictKind {
    SameService,
    /// The other change alters a service this one depends on.
    Dependency,
    /// The other change alters a service that depends on this one.
    Dependant,
    OutsideWindow,
    Freeze,
    Lockdown,
}

/// One reason a slot does not fit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SchedulingConflict {
    pub kind: ConflictKind,
    pub service: String,
    pub environment: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub other_change: Option<String>,
    pub detail: String,
    /// An approved exception can waive it (everything but lockdown).
    pub waivable: bool,
}

/// The conflicts of `proposed` with the `scheduled` changes (same environment, overlapping slot:
/// the same service, a service it depends on or one that depends on it, transitively), with the
/// windows (the slot must lie inside a window at every level that defines them) and with freezes.
pub fn scheduling_conflicts(
    proposed: &ScheduledChange,
    scheduled: &[ScheduledChange],
    depends_on: &BTreeMap<String, Vec<String>>,
    calendars: &CalendarSet,
) -> Vec<SchedulingConflict> {
    let mut out = Vec::new();
    let slot = proposed.slot;
    for service in &proposed.services {
        let dependants: BTreeSet<String> =
            impacted_services(std::slice::from_ref(service), depends_on)
                .into_iter()
                .collect();
        let dependencies = dependencies_of(service, depends_on);
        for environment in &proposed.environments {
            for other in scheduled {
                if other.change_id == proposed.change_id
                    || !other.environments.contains(environment)
                    || !other.slot.overlaps(&slot)
                {
                    continue;
                }
                for theirs in &other.services {
                    let kind = if theirs == service {
                        ConflictKind::SameService
                    } else if dependencies.contains(theirs) {
                        ConflictKind::Dependency
                    } else if dependants.contains(theirs) {
                        ConflictKind::Dependant
                    } else {
                        continue;
                    };
                    let what = match kind {
                        ConflictKind::SameService => format!("also changes {service}"),
                        ConflictKind::Dependency => {
                            format!("changes {theirs}, which {service} depends on,")
                        }
                        _ => format!("changes {theirs}, which depends on {service},"),
                    };
                    out.push(SchedulingConflict {
                        kind,
                        service: service.clone(),
                        environment: environment.clone(),
                        other_change: Some(other.change_id.clone()),
                        detail: format!(
                            "change {} {what} in {environment} from {} to {}",
                            other.change_id, other.slot.start, other.slot.end
                        ),
                        waivable: true,
                    });
                }
            }
            let lockdown = calendars.lockdown_by(service, environment);
            if !lockdown.is_empty() {
                out.push(SchedulingConflict {
                    kind: ConflictKind::Lockdown,
                    service: service.clone(),
                    environment: environment.clone(),
                    other_change: None,
                    detail: format!("denied: lockdown (calendar {})", lockdown.join(", ")),
                    waivable: false,
                });
                continue;
            }
            for (level, periods) in calendars.windows_by_level(service, environment) {
                let covered = merge(
                    periods
                        .iter()
                        .flat_map(|p| p.occurrences(slot.start, slot.end))
                        .collect(),
                );
                if !covered
                    .iter()
                    .any(|c| c.start <= slot.start && slot.end <= c.end)
                {
                    out.push(SchedulingConflict {
                        kind: ConflictKind::OutsideWindow,
                        service: service.clone(),
                        environment: environment.clone(),
                        other_change: None,
                        detail: format!(
                            "{} to {} is not inside one {} window of {service} in {environment}",
                            slot.start,
                            slot.end,
                            level.as_str()
                        ),
                        waivable: true,
                    });
                }
            }
            for f in calendars.freezes(service, environment) {
                if let Some(hit) = f.occurrences(slot.start, slot.end).first() {
                    out.push(SchedulingConflict {
                        kind: ConflictKind::Freeze,
                        service: service.clone(),
                        environment: environment.clone(),
                        other_change: None,
                        detail: format!(
                            "overlaps freeze {} ({} to {})",
                            f.name, hit.start, hit.end
                        ),
                        waivable: true,
                    });
                }
            }
        }
    }
    out
}

/// Every service `service` depends on, directly or not.
fn dependencies_of(service: &str, depends_on: &BTreeMap<String, Vec<String>>) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut stack: Vec<&str> = vec![service];
    while let Some(s) = stack.pop() {
        for d in depends_on.get(s).into_iter().flatten() {
            if seen.insert(d.clone()) {
                stack.push(d);
            }
        }
    }
    seen.remove(service);
    seen
}
