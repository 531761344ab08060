#![allow(clippy::unwrap_used)] // tests fail loudly on unexpected errors

//! Calendars: windows and freezes across daylight-saving transitions, RRULEs, inheritance,
//! lockdown, next slots and scheduling conflicts.

use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};
use slipway_change::calendar::{
    Calendar, CalendarSet, CalendarSpec, ConflictKind, ScheduledChange, Slot, scheduling_conflicts,
};
use slipway_spec::validate_typed;
use std::collections::BTreeMap;

fn ts(text: &str) -> Timestamp {
    text.parse().unwrap()
}

fn set(calendars: &[(&str, Value)]) -> CalendarSet {
    let calendars: Vec<Calendar> = calendars
        .iter()
        .map(|(name, spec)| Calendar {
            name: name.to_string(),
            spec: serde_json::from_value::<CalendarSpec>(spec.clone()).unwrap(),
        })
        .collect();
    CalendarSet::compile(&calendars).unwrap()
}

/// Checks, for each instant, whether a change to `service` in `environment` is allowed, and
/// the window it is inside when allowed.
fn check(set: &CalendarSet, service: &str, environment: &str, cases: &[(&str, Option<&str>)]) {
    for (at, window) in cases {
        let decision = set.is_allowed(ts(at), service, environment);
        assert_eq!(
            decision.allowed,
            window.is_some(),
            "{at}: {:?}",
            decision.reasons
        );
        if let Some(window) = window {
            assert_eq!(decision.inside_window.as_deref(), Some(*window), "{at}");
        }
    }
}

#[test]
fn a_london_night_window_across_both_transitions_of_2025() {
    // 01:30–03:30 local, every day, written as a cron start and a 2 h duration.
    let london = set(&[(
        "ops",
        json!({"timeZone": "Europe/London", "windows": [{"name": "night", "cron": "30 1 * * *", "duration": "2h"}]}),
    )]);
    check(
        &london,
        "payments",
        "production",
        &[
            // Saturday 29 March, GMT: 01:30Z–03:30Z.
            ("2025-03-29T01:29:59Z", None),
            ("2025-03-29T01:30:00Z", Some("ops/night")),
            ("2025-03-29T03:29:59Z", Some("ops/night")),
            ("2025-03-29T03:30:00Z", None),
            // Sunday 30 March: 01:30 local does not exist (01:00 GMT jumps to 02:00 BST at 01:00Z).
            // The window begins at the first instant after the gap, 01:00Z (02:00 BST), and lasts
            // 2 h of real time, to 03:00Z (04:00 BST).
            ("2025-03-30T00:59:59Z", None),
            ("2025-03-30T01:00:00Z", Some("ops/night")),
            ("2025-03-30T02:59:59Z", Some("ops/night")),
            ("2025-03-30T03:00:00Z", None),
            // Monday 31 March, BST: 01:30 BST is 00:30Z; to 02:30Z.
            ("2025-03-31T00:29:59Z", None),
            ("2025-03-31T00:30:00Z", Some("ops/night")),
            ("2025-03-31T02:29:59Z", Some("ops/night")),
            ("2025-03-31T02:30:00Z", None),
            // Sunday 26 October: 01:30 local happens twice (02:00 BST falls back to 01:00 GMT at
            // 01:00Z). The window uses the first, 01:30 BST = 00:30Z, and lasts 2 h, to 02:30Z
            // (02:30 GMT), covering the second 01:30 (01:30Z) too.
            ("2025-10-26T00:29:59Z", None),
            ("2025-10-26T00:30:00Z", Some("ops/night")),
            ("2025-10-26T01:30:00Z", Some("ops/night")),
            ("2025-10-26T02:29:59Z", Some("ops/night")),
            ("2025-10-26T02:30:00Z", None),
            // Monday 27 October, GMT again: 01:30Z–03:30Z.
            ("2025-10-27T01:29:59Z", None),
            ("2025-10-27T01:30:00Z", Some("ops/night")),
            ("2025-10-27T03:30:00Z", None),
        ],
    );
}

#[test]
fn a_weekly_us_eastern_window_around_march_and_november() {
    // Sundays 01:00 local for 3 h, and a second window starting at 02:30, which on 9 March 2025
    // does not exist (02:00 EST jumps to 03:00 EDT at 07:00Z).
    let eastern = set(&[(
        "us",
        json!({"timeZone": "US/Eastern", "windows": [
            {"name": "sunday", "cron": "0 1 * * SUN", "duration": "3h"},
        ]}),
    )]);
    check(
        &eastern,
        "api",
        "production",
        &[
            // 2 March, EST: 06:00Z–09:00Z.
            ("2025-03-02T05:59:59Z", None),
            ("2025-03-02T06:00:00Z", Some("us/sunday")),
            ("2025-03-02T08:59:59Z", Some("us/sunday")),
            ("2025-03-02T09:00:00Z", None),
            // 9 March: 01:00 EST is 06:00Z; 3 h of real time ends at 09:00Z (05:00 EDT).
            ("2025-03-09T06:00:00Z", Some("us/sunday")),
            ("2025-03-09T08:59:59Z", Some("us/sunday")),
            ("2025-03-09T09:00:00Z", None),
            // 16 March, EDT: 05:00Z–08:00Z.
            ("2025-03-16T04:59:59Z", None),
            ("2025-03-16T05:00:00Z", Some("us/sunday")),
            ("2025-03-16T08:00:00Z", None),
            // 2 November: 01:00 happens twice; the first is 01:00 EDT = 05:00Z; to 08:00Z.
            ("2025-11-02T04:59:59Z", None),
            ("2025-11-02T05:00:00Z", Some("us/sunday")),
            ("2025-11-02T07:59:59Z", Some("us/sunday")),
            ("2025-11-02T08:00:00Z", None),
            // 9 November, EST: 06:00Z–09:00Z.
            ("2025-11-09T05:59:59Z", None),
            ("2025-11-09T06:00:00Z", Some("us/sunday")),
            ("2025-11-09T09:00:00Z", None),
        ],
    );
    let gap = set(&[(
        "us",
        json!({"timeZone": "America/New_York", "windows": [
            {"name": "late", "cron": "30 2 * * SUN", "duration": "1h"},
        ]}),
    )]);
    check(
        &gap,
        "api",
        "production",
        &[
            // 2 March: 02:30 EST = 07:30Z.
            ("2025-03-02T07:30:00Z", Some("us/late")),
            // 9 March: 02:30 does not exist; the window starts at 03:00 EDT = 07:00Z, for 1 h.
            ("2025-03-09T06:59:59Z", None),
            ("2025-03-09T07:00:00Z", Some("us/late")),
            ("2025-03-09T07:59:59Z", Some("us/late")),
            ("2025-03-09T08:00:00Z", None),
            // 16 March: 02:30 EDT = 06:30Z.
            ("2025-03-16T06:30:00Z", Some("us/late")),
        ],
    );
}

#[test]
fn an_rrule_on_tuesdays_and_thursdays_in_new_york() {
    let ny = set(&[(
        "cab",
        json!({"windows": [{
            "name": "evening",
            "timeZone": "America/New_York",
            "rrule": "FREQ=WEEKLY;BYDAY=TU,TH",
            "dtstart": "2025-03-04T22:00:00",
            "duration": "2h",
        }]}),
    )]);
    check(
        &ny,
        "api",
        "production",
        &[
            // Tuesday 4 March 22:00 EST = 03:00Z on the 5th.
            ("2025-03-05T02:59:59Z", None),
            ("2025-03-05T03:00:00Z", Some("cab/evening")),
            ("2025-03-05T04:59:59Z", Some("cab/evening")),
            ("2025-03-05T05:00:00Z", None),
            // Thursday 6 March, EST.
            ("2025-03-07T03:30:00Z", Some("cab/evening")),
            // Not on Wednesdays or before DTSTART.
            ("2025-03-06T03:30:00Z", None),
            ("2025-03-04T03:30:00Z", None),
            // After 9 March, EDT: Tuesday 11 March 22:00 EDT = 02:00Z on the 12th.
            ("2025-03-12T01:59:59Z", None),
            ("2025-03-12T02:00:00Z", Some("cab/evening")),
            ("2025-03-12T03:59:59Z", Some("cab/evening")),
            ("2025-03-12T04:00:00Z", None),
            // And back to EST in November: Thursday 6 November 22:00 EST = 03:00Z on the 7th.
            ("2025-11-07T02:30:00Z", None),
            ("2025-11-07T03:00:00Z", Some("cab/evening")),
        ],
    );
    // The next 2 h slot after Saturday 8 March is Tuesday 11 March 22:00 EDT.
    let slot = ny
        .next_allowed_slot(
            ts("2025-03-08T00:00:00Z"),
            SignedDuration::from_hours(2),
            SignedDuration::from_hours(24 * 30),
            "api",
            "production",
        )
        .unwrap();
    assert_eq!(
        slot,
        Slot {
            start: ts("2025-03-12T02:00:00Z"),
            end: ts("2025-03-12T04:00:00Z")
        }
    );
    // A 3 h change never fits a 2 h window.
    assert_eq!(
        ny.next_allowed_slot(
            ts("2025-03-08T00:00:00Z"),
            SignedDuration::from_hours(3),
            SignedDuration::from_hours(24 * 30),
            "api",
            "production",
        ),
        None
    );
}

fn layered() -> CalendarSet {
    set(&[
        (
            "org",
            json!({"windows": [{"name": "weekdays", "cron": "0 8 * * MON-FRI", "duration": "10h"}]}),
        ),
        (
            "prod",
            json!({"scope": {"environment": "production"}, "windows": [{"name": "late-morning", "cron": "0 10 * * *", "duration": "2h"}]}),
        ),
        (
            "payments",
            json!({"scope": {"service": "payments", "environment": "production"}, "freezes": [
                {"name": "quarter-end", "start": "2025-06-30T00:00:00Z", "end": "2025-07-01T00:00:00Z", "reason": "books close"}
            ]}),
        ),
        (
            "holidays",
            json!({"timeZone": "Europe/Berlin", "freezes": [{"name": "christmas", "start": "2025-12-24", "end": "2025-12-27"}]}),
        ),
    ])
}

#[test]
fn windows_intersect_by_level_and_freezes_add_up() {
    let cal = layered();
    // Monday 2 June 2025.
    check(
        &cal,
        "payments",
        "production",
        &[
            // Inside the organisation's and production's windows; the most specific is named.
            ("2025-06-02T11:00:00Z", Some("prod/late-morning")),
            // Inside the organisation's window, outside production's.
            ("2025-06-02T13:00:00Z", None),
            // Saturday: production's window is open, the organisation's is not.
            ("2025-06-07T11:00:00Z", None),
            // The payments freeze on Monday 30 June.
            ("2025-06-30T11:00:00Z", None),
            // The organisation's Christmas freeze, read in Berlin (23:00Z on the 23rd is the 24th).
            ("2025-12-23T22:59:59Z", None), // outside every window anyway at 22:59
            ("2025-12-24T11:00:00Z", None),
        ],
    );
    // Staging has no windows of its own: only the organisation's apply.
    check(
        &cal,
        "payments",
        "staging",
        &[
            ("2025-06-02T13:00:00Z", Some("org/weekdays")),
            ("2025-06-30T11:00:00Z", Some("org/weekdays")),
        ],
    );
    // Another service in production is not under the payments freeze.
    check(
        &cal,
        "search",
        "production",
        &[("2025-06-30T11:00:00Z", Some("prod/late-morning"))],
    );
    let frozen = cal.is_allowed(ts("2025-06-30T11:00:00Z"), "payments", "production");
    assert_eq!(frozen.freezes_active, vec!["payments/quarter-end"]);
    assert!(frozen.waivable());
    let christmas = cal.is_allowed(ts("2025-12-24T11:00:00Z"), "payments", "staging");
    assert_eq!(christmas.freezes_active, vec!["holidays/christmas"]);
    assert!(
        christmas
            .reasons
            .iter()
            .any(|r| r.contains("freeze holidays/christmas is active until 2025-12-26T23:00:00Z"))
    );
}

#[test]
fn lockdown_denies_everything_and_cannot_be_waived() {
    let cal = set(&[("org", json!({"lockdown": true}))]);
    let decision = cal.is_allowed(ts("2025-06-02T11:00:00Z"), "payments", "production");
    assert!(!decision.allowed);
    assert!(decision.lockdown);
    assert!(!decision.waivable());
    assert!(decision.reasons[0].starts_with("denied: lockdown"));
    assert_eq!(
        cal.next_allowed_slot(
            ts("2025-06-02T11:00:00Z"),
            SignedDuration::from_hours(1),
            SignedDuration::from_hours(24),
            "payments",
            "production"
        ),
        None
    );
}

#[test]
fn next_slot_skips_freezes_and_closed_levels() {
    let cal = layered();
    // From Friday 27 June 17:30Z, a 1 h change: the weekend is closed by the organisation, Monday
    // 30 June is frozen for payments, so Tuesday 1 July 10:00Z.
    let slot = cal
        .next_allowed_slot(
            ts("2025-06-27T17:30:00Z"),
            SignedDuration::from_hours(1),
            SignedDuration::from_hours(24 * 14),
            "payments",
            "production",
        )
        .unwrap();
    assert_eq!(slot.start, ts("2025-07-01T10:00:00Z"));
    // Search starts mid-window: the slot starts at `from`.
    let slot = cal
        .next_allowed_slot(
            ts("2025-07-01T10:15:00Z"),
            SignedDuration::from_mins(30),
            SignedDuration::from_hours(24),
            "payments",
            "production",
        )
        .unwrap();
    assert_eq!(slot.start, ts("2025-07-01T10:15:00Z"));
}

fn graph() -> BTreeMap<String, Vec<String>> {
    // web calls api, api calls ledger.
    [
        ("web", vec!["api"]),
        ("api", vec!["ledger"]),
        ("ledger", vec![]),
        ("search", vec![]),
    ]
    .into_iter()
    .map(|(s, d)| (s.to_string(), d.into_iter().map(String::from).collect()))
    .collect()
}

fn scheduled(
    id: &str,
    service: &str,
    environment: &str,
    start: &str,
    end: &str,
) -> ScheduledChange {
    ScheduledChange {
        change_id: id.into(),
        services: vec![service.into()],
        environments: vec![environment.into()],
        slot: Slot {
            start: ts(start),
            end: ts(end),
        },
    }
}

/// The conflicts expected: their kind and the other change.
type Expected<'a> = &'a [(ConflictKind, Option<&'a str>)];

#[test]
fn conflicts_name_the_other_change_and_the_relation() {
    let cal = set(&[(
        "prod",
        json!({"scope": {"environment": "production"}, "windows": [{"name": "day", "cron": "0 9 * * *", "duration": "3h"}],
               "freezes": [{"name": "audit", "start": "2025-06-03T11:45:00Z", "end": "2025-06-03T13:00:00Z"}]}),
    )]);
    let existing = [
        scheduled(
            "CHG-LEDGER",
            "ledger",
            "production",
            "2025-06-02T09:00:00Z",
            "2025-06-02T10:00:00Z",
        ),
        scheduled(
            "CHG-WEB",
            "web",
            "production",
            "2025-06-02T09:30:00Z",
            "2025-06-02T10:30:00Z",
        ),
        scheduled(
            "CHG-API-STAGING",
            "api",
            "staging",
            "2025-06-02T09:00:00Z",
            "2025-06-02T11:00:00Z",
        ),
        scheduled(
            "CHG-API",
            "api",
            "production",
            "2025-06-02T10:45:00Z",
            "2025-06-02T11:00:00Z",
        ),
        scheduled(
            "CHG-SEARCH",
            "search",
            "production",
            "2025-06-02T09:00:00Z",
            "2025-06-02T11:00:00Z",
        ),
    ];
    let cases: &[(&str, &str, Expected)] = &[
        // Overlaps the ledger change (a dependency) and the web change (a dependant), not the
        // staging one, not search (unrelated), not the later api change.
        (
            "2025-06-02T09:45:00Z",
            "2025-06-02T10:15:00Z",
            &[
                (ConflictKind::Dependency, Some("CHG-LEDGER")),
                (ConflictKind::Dependant, Some("CHG-WEB")),
            ],
        ),
        // The same service.
        (
            "2025-06-02T10:50:00Z",
            "2025-06-02T11:10:00Z",
            &[(ConflictKind::SameService, Some("CHG-API"))],
        ),
        // Free and inside the window.
        ("2025-06-02T11:00:00Z", "2025-06-02T12:00:00Z", &[]),
        // Runs past the window's end.
        (
            "2025-06-02T11:30:00Z",
            "2025-06-02T12:30:00Z",
            &[(ConflictKind::OutsideWindow, None)],
        ),
        // Touches a freeze.
        (
            "2025-06-03T11:00:00Z",
            "2025-06-03T11:50:00Z",
            &[(ConflictKind::Freeze, None)],
        ),
    ];
    for (start, end, expected) in cases {
        let proposed = scheduled("NEW", "api", "production", start, end);
        let got: Vec<(ConflictKind, Option<&str>)> =
            scheduling_conflicts(&proposed, &existing, &graph(), &cal)
                .iter()
                .map(|c| (c.kind, c.other_change.clone()))
                .map(|(k, o)| {
                    (
                        k,
                        o.map(|o| {
                            existing
                                .iter()
                                .find(|e| e.change_id == o)
                                .unwrap()
                                .change_id
                                .as_str()
                        }),
                    )
                })
                .collect();
        assert_eq!(&got, expected, "{start}..{end}");
    }
    let proposed = scheduled(
        "NEW",
        "api",
        "production",
        "2025-06-02T09:45:00Z",
        "2025-06-02T10:15:00Z",
    );
    let conflicts = scheduling_conflicts(&proposed, &existing, &graph(), &cal);
    assert_eq!(
        conflicts[0].detail,
        "change CHG-LEDGER changes ledger, which api depends on, in production from 2025-06-02T09:00:00Z to 2025-06-02T10:00:00Z"
    );
    assert!(conflicts.iter().all(|c| c.waivable));
    let locked = set(&[("org", json!({"lockdown": true}))]);
    let conflicts = scheduling_conflicts(&proposed, &[], &graph(), &locked);
    assert_eq!(conflicts.len(), 1);
    assert_eq!(conflicts[0].kind, ConflictKind::Lockdown);
    assert!(!conflicts[0].waivable);
}

#[test]
fn calendar_errors_name_the_field() {
    let cases: &[(Value, &[&str])] = &[
        (
            json!({"windows": [{"name": "w", "cron": "0 1 * * *", "duration": "1h"}]}),
            &[],
        ),
        (
            json!({"windows": [{"name": "w", "rrule": "FREQ=WEEKLY;BYDAY=TU,XX", "dtstart": "2025-01-07T22:00:00", "duration": "1h"}]}),
            &["spec.windows[0].rrule: BYDAY: \"XX\" is not a weekday (MO, TU, WE, TH, FR, SA, SU)"],
        ),
        (
            json!({"windows": [{"name": "w", "rrule": "FREQ=DAILY", "duration": "1h"}]}),
            &["spec.windows[0].dtstart: is required with rrule"],
        ),
        (
            json!({"timeZone": "Mars/Olympus", "windows": []}),
            &["spec.timeZone: \"Mars/Olympus\" is not an IANA time zone"],
        ),
        (
            json!({"freezes": [{"name": "f", "cron": "0 1 * * *"}]}),
            &["spec.freezes[0].duration: is required with cron or rrule"],
        ),
        (
            json!({"freezes": [{"name": "f", "cron": "61 1 * * *", "duration": "1h"}]}),
            &["spec.freezes[0].cron: \"61 1 * * *\" is not a five-field cron expression"],
        ),
        (
            json!({"freezes": [{"name": "f", "cron": "0 0 30 2 *", "duration": "1h"}]}),
            &["spec.freezes[0].cron: \"0 0 30 2 *\" never matches"],
        ),
        (
            json!({"freezes": [{"name": "f", "start": "2025-01-02T00:00:00Z", "end": "2025-01-01T00:00:00Z"}]}),
            &["spec.freezes[0].end: 2025-01-01T00:00:00Z is not after start 2025-01-02T00:00:00Z"],
        ),
        (
            json!({"freezes": [{"name": "f", "cron": "0 1 * * *", "start": "2025-01-01", "duration": "1h"}]}),
            &["spec.freezes[0]: give exactly one of cron, rrule (with dtstart), or start and end"],
        ),
        (
            json!({"scope": {"environment": "production"}, "lockdown": true}),
            &["spec.lockdown: only an organisation calendar (no scope) can lock down"],
        ),
        (
            json!({"windows": [{"name": "w", "cron": "0 1 * * *", "duration": "soon"}]}),
            &["spec.windows[0].duration: "],
        ),
        (
            json!({"windows": [{"name": "w", "cron": "0 1 * * *", "duration": "1h", "every": 2}]}),
            &["spec.windows[0].every: unknown field `every`"],
        ),
    ];
    for (spec, expected) in cases {
        let got: Vec<String> = validate_typed::<CalendarSpec>(spec)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(got.len(), expected.len(), "{spec}: {got:?}");
        for (g, e) in got.iter().zip(expected.iter()) {
            assert!(g.starts_with(e), "{spec}: {g:?} should start with {e:?}");
        }
    }
}
