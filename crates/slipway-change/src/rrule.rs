//! RFC 5545 recurrence rules, the part calendars need, expanded on the civil (wall-clock) time
//! line.
//!
//! Supported: `FREQ` = `DAILY`, `WEEKLY`, `MONTHLY`, `YEARLY`; `INTERVAL`, `COUNT`, `UNTIL`
//! (`...Z` in UTC, or a local date-time in the rule's zone, or a date), `BYMONTH`, `BYMONTHDAY`
//! (negative counts from the month's end), `BYDAY` (with an ordinal such as `2TU` or `-1FR` for
//! `MONTHLY`, and for `YEARLY` together with `BYMONTH`), `BYHOUR`, `BYMINUTE`, `BYSECOND`, `WKST`.
//! Anything else (`BYSETPOS`, `BYYEARDAY`, `BYWEEKNO`, sub-daily frequencies) is refused by name
//! rather than ignored.
//!
//! Expansion yields civil date-times in order, starting at DTSTART (which counts as the first
//! occurrence only if it matches the rule, as most implementations do). Turning them into instants
//! in a zone — gaps and folds — is the calendar's business.

use jiff::Timestamp;
use jiff::civil::{Date, DateTime, Weekday};

/// How often the rule's periods repeat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frequency {
    Daily,
    Weekly,
    Monthly,
    Yearly,
}

/// When the recurrence stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Until {
    /// An instant (`...Z`).
    Instant(Timestamp),
    /// A local date-time in the rule's zone.
    Local(DateTime),
}

/// A parsed recurrence rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecurrenceRule {
    pub frequency: Frequency,
    pub interval: u32,
    pub count: Option<u32>,
    pub until: Option<Until>,
    pub by_month: Vec<i8>,
    pub by_month_day: Vec<i8>,
    pub by_day: Vec<(Option<i8>, Weekday)>,
    pub by_hour: Vec<i8>,
    pub by_minute: Vec<i8>,
    pub by_second: Vec<i8>,
    pub week_start: Weekday,
}

/// At most this many periods are scanned by one expansion, so a rule that never matches (e.g.
/// February 30th) ends instead of spinning.
const MAX_PERIODS: u64 = 200_000;

impl RecurrenceRule {
    /// Parses `FREQ=WEEKLY;BYDAY=TU,TH` (an `RRULE:` prefix is allowed). Errors name the part.
    pub fn parse(text: &str) -> Result<RecurrenceRule, String> {
        let text = text.trim();
        let text = text.strip_prefix("RRULE:").unwrap_or(text);
        let mut frequency = None;
        let mut rule = RecurrenceRule {
            frequency: Frequency::Daily,
            interval: 1,
            count: None,
            until: None,
            by_month: Vec::new(),
            by_month_day: Vec::new(),
            by_day: Vec::new(),
            by_hour: Vec::new(),
            by_minute: Vec::new(),
            by_second: Vec::new(),
            week_start: Weekday::Monday,
        };
        let mut seen = std::collections::BTreeSet::new();
        for part in text.split(';').filter(|p| !p.trim().is_empty()) {
            let (key, value) = part
                .split_once('=')
                .ok_or_else(|| format!("part {part:?} is not KEY=VALUE"))?;
            let key = key.trim().to_ascii_uppercase();
            let value = value.trim();
            if !seen.insert(key.clone()) {
                return Err(format!("{key} is given twice"));
            }
            match key.as_str() {
                "FREQ" => {
                    frequency = Some(match value.to_ascii_uppercase().as_str() {
                        "DAILY" => Frequency::Daily,
                        "WEEKLY" => Frequency::Weekly,
                        "MONTHLY" => Frequency::Monthly,
                        "YEARLY" => Frequency::Yearly,
                        "SECONDLY" | "MINUTELY" | "HOURLY" => {
                            return Err(format!(
                                "FREQ={value} is not supported: windows recur daily at the finest"
                            ));
                        }
                        other => return Err(format!("FREQ={other} is not a frequency")),
                    })
                }
                "INTERVAL" => {
                    rule.interval = value
                        .parse()
                        .ok()
                        .filter(|n| *n >= 1)
                        .ok_or_else(|| format!("INTERVAL={value} is not a positive number"))?
                }
                "COUNT" => {
                    rule.count = Some(
                        value
                            .parse()
                            .ok()
                            .filter(|n| *n >= 1)
                            .ok_or_else(|| format!("COUNT={value} is not a positive number"))?,
                    )
                }
                "UNTIL" => rule.until = Some(parse_until(value)?),
                "BYMONTH" => rule.by_month = numbers(&key, value, 1, 12, false)?,
                "BYMONTHDAY" => rule.by_month_day = numbers(&key, value, -31, 31, true)?,
                "BYHOUR" => rule.by_hour = numbers(&key, value, 0, 23, false)?,
                "BYMINUTE" => rule.by_minute = numbers(&key, value, 0, 59, false)?,
                "BYSECOND" => rule.by_second = numbers(&key, value, 0, 59, false)?,
                "BYDAY" => {
                    for item in value.split(',') {
                        rule.by_day.push(parse_by_day(item.trim())?);
                    }
                }
                "WKST" => rule.week_start = weekday(value)?,
                "BYSETPOS" | "BYYEARDAY" | "BYWEEKNO" | "RSCALE" | "SKIP" => {
                    return Err(format!("{key} is not supported"));
                }
                other => return Err(format!("{other} is not a recurrence rule part")),
            }
        }
        rule.frequency = frequency.ok_or("FREQ is required")?;
        if rule.count.is_some() && rule.until.is_some() {
            return Err("give COUNT or UNTIL, not both".into());
        }
        let ordinals = rule.by_day.iter().any(|(n, _)| n.is_some());
        match rule.frequency {
            Frequency::Daily | Frequency::Weekly if ordinals => {
                return Err("BYDAY ordinals (like 2TU) need FREQ=MONTHLY or YEARLY".into());
            }
            Frequency::Weekly if !rule.by_month_day.is_empty() => {
                return Err("BYMONTHDAY cannot be used with FREQ=WEEKLY".into());
            }
            Frequency::Yearly if ordinals && rule.by_month.is_empty() => {
                return Err("BYDAY ordinals with FREQ=YEARLY need BYMONTH".into());
            }
            _ => {}
        }
        Ok(rule)
    }

    /// Civil date-times of the recurrence that are at or after `from`, in order. `until_instant`
    /// turns a `UNTIL...Z` bound into a check on each candidate (the caller knows the zone).
    pub fn expand<'a>(
        &'a self,
        dtstart: DateTime,
        from: DateTime,
        until_instant: &'a dyn Fn(DateTime) -> bool,
    ) -> impl Iterator<Item = DateTime> + 'a {
        // Without COUNT, start a little before the period that holds `from`.
        let first_period = if self.count.is_none() && from > dtstart {
            let periods = self.periods_between(dtstart.date(), from.date());
            (periods / u64::from(self.interval)).saturating_sub(1)
        } else {
            0
        };
        let mut emitted: u32 = 0;
        let mut k = first_period;
        let mut scanned = 0u64;
        let mut buffer: std::collections::VecDeque<DateTime> = Default::default();
        let mut done = false;
        std::iter::from_fn(move || {
            loop {
                if done {
                    return None;
                }
                if let Some(next) = buffer.pop_front() {
                    if self.count.is_some_and(|c| emitted >= c) {
                        done = true;
                        return None;
                    }
                    let past_until = match self.until {
                        Some(Until::Local(u)) => next > u,
                        Some(Until::Instant(_)) => !until_instant(next),
                        None => false,
                    };
                    if past_until {
                        done = true;
                        return None;
                    }
                    emitted += 1;
                    if next >= from {
                        return Some(next);
                    }
                    continue;
                }
                if scanned >= MAX_PERIODS {
                    done = true;
                    return None;
                }
                scanned += 1;
                let Some(index) = k.checked_mul(u64::from(self.interval)) else {
                    done = true;
                    return None;
                };
                k += 1;
                match self.period_candidates(dtstart, index) {
                    None => {
                        done = true;
                        return None;
                    }
                    Some(candidates) => {
                        buffer.extend(candidates.into_iter().filter(|c| *c >= dtstart));
                    }
                }
            }
        })
    }

    /// Whole periods (days, weeks, months or years) from `start`'s period to `to`'s.
    fn periods_between(&self, start: Date, to: Date) -> u64 {
        let days = epoch_day(to) - epoch_day(start);
        let months = (i64::from(to.year()) * 12 + i64::from(to.month()))
            - (i64::from(start.year()) * 12 + i64::from(start.month()));
        let n = match self.frequency {
            Frequency::Daily => days,
            Frequency::Weekly => {
                (epoch_day(week_start(to, self.week_start))
                    - epoch_day(week_start(start, self.week_start)))
                    / 7
            }
            Frequency::Monthly => months,
            Frequency::Yearly => i64::from(to.year()) - i64::from(start.year()),
        };
        u64::try_from(n).unwrap_or(0)
    }

    /// The sorted candidates of the period `index` periods after DTSTART's; `None` past the end
    /// of the calendar.
    fn period_candidates(&self, dtstart: DateTime, index: u64) -> Option<Vec<DateTime>> {
        let index = i64::try_from(index).ok()?;
        let start = dtstart.date();
        let dates: Vec<Date> = match self.frequency {
            Frequency::Daily => {
                let day = date_from_epoch_day(epoch_day(start).checked_add(index)?)?;
                vec![day]
                    .into_iter()
                    .filter(|d| self.month_ok(*d) && self.month_day_ok(*d) && self.weekday_ok(*d))
                    .collect()
            }
            Frequency::Weekly => {
                let first = epoch_day(week_start(start, self.week_start)).checked_add(index * 7)?;
                let days: Vec<Date> = (0..7)
                    .filter_map(|i| date_from_epoch_day(first + i))
                    .collect();
                if days.is_empty() {
                    return None;
                }
                days.into_iter()
                    .filter(|d| {
                        let weekday_ok = if self.by_day.is_empty() {
                            d.weekday() == start.weekday()
                        } else {
                            self.weekday_ok(*d)
                        };
                        weekday_ok && self.month_ok(*d)
                    })
                    .collect()
            }
            Frequency::Monthly => {
                let (year, month) = add_months(start.year(), start.month(), index)?;
                self.days_in(year, month, start.day())
            }
            Frequency::Yearly => {
                let year = i16::try_from(i64::from(start.year()) + index).ok()?;
                if year > 9999 {
                    return None;
                }
                let months: Vec<i8> = if self.by_month.is_empty() {
                    vec![start.month()]
                } else {
                    self.by_month.clone()
                };
                months
                    .into_iter()
                    .flat_map(|m| self.days_in(year, m, start.day()))
                    .collect()
            }
        };
        let hours = or_default(&self.by_hour, dtstart.hour());
        let minutes = or_default(&self.by_minute, dtstart.minute());
        let seconds = or_default(&self.by_second, dtstart.second());
        let mut out = Vec::new();
        for d in dates {
            for h in &hours {
                for m in &minutes {
                    for s in &seconds {
                        if let Ok(t) = jiff::civil::Time::new(*h, *m, *s, 0) {
                            out.push(d.to_datetime(t));
                        }
                    }
                }
            }
        }
        out.sort();
        out.dedup();
        Some(out)
    }

    /// The days of one month for MONTHLY and YEARLY rules.
    fn days_in(&self, year: i16, month: i8, default_day: i8) -> Vec<Date> {
        let Ok(first) = Date::new(year, month, 1) else {
            return Vec::new();
        };
        if !self.month_ok(first) {
            return Vec::new();
        }
        let len = first.days_in_month();
        let all = (1..=len).filter_map(|d| Date::new(year, month, d).ok());
        if self.by_month_day.is_empty() && self.by_day.is_empty() {
            return Date::new(year, month, default_day).into_iter().collect();
        }
        all.filter(|d| {
            (self.by_month_day.is_empty() || self.month_day_ok(*d))
                && (self.by_day.is_empty() || self.weekday_in_month_ok(*d, len))
        })
        .collect()
    }

    fn month_ok(&self, d: Date) -> bool {
        self.by_month.is_empty() || self.by_month.contains(&d.month())
    }

    fn month_day_ok(&self, d: Date) -> bool {
        if self.by_month_day.is_empty() {
            return true;
        }
        let len = d.days_in_month();
        self.by_month_day
            .iter()
            .any(|n| *n == d.day() || (*n < 0 && len + n + 1 == d.day()))
    }

    fn weekday_ok(&self, d: Date) -> bool {
        self.by_day.is_empty() || self.by_day.iter().any(|(_, w)| *w == d.weekday())
    }

    fn weekday_in_month_ok(&self, d: Date, len: i8) -> bool {
        let from_start = (d.day() - 1) / 7 + 1;
        let from_end = -((len - d.day()) / 7 + 1);
        self.by_day.iter().any(|(n, w)| {
            *w == d.weekday()
                && match n {
                    None => true,
                    Some(n) => *n == from_start || *n == from_end,
                }
        })
    }
}

fn or_default(values: &[i8], default: i8) -> Vec<i8> {
    if values.is_empty() {
        vec![default]
    } else {
        let mut v = values.to_vec();
        v.sort();
        v.dedup();
        v
    }
}

fn numbers(key: &str, value: &str, min: i8, max: i8, no_zero: bool) -> Result<Vec<i8>, String> {
    value
        .split(',')
        .map(|v| {
            v.trim()
                .parse::<i8>()
                .ok()
                .filter(|n| *n >= min && *n <= max && !(no_zero && *n == 0))
                .ok_or_else(|| format!("{key}={value}: {v:?} is not between {min} and {max}"))
        })
        .collect()
}

fn weekday(text: &str) -> Result<Weekday, String> {
    Ok(match text.to_ascii_uppercase().as_str() {
        "MO" => Weekday::Monday,
        "TU" => Weekday::Tuesday,
        "WE" => Weekday::Wednesday,
        "TH" => Weekday::Thursday,
        "FR" => Weekday::Friday,
        "SA" => Weekday::Saturday,
        "SU" => Weekday::Sunday,
        other => {
            return Err(format!(
                "{other:?} is not a weekday (MO, TU, WE, TH, FR, SA, SU)"
            ));
        }
    })
}

fn parse_by_day(item: &str) -> Result<(Option<i8>, Weekday), String> {
    let split = item.len().saturating_sub(2);
    let (ordinal, day) = item
        .split_at_checked(split)
        .ok_or_else(|| format!("BYDAY item {item:?} is not like TU or 2TU"))?;
    let day = weekday(day).map_err(|e| format!("BYDAY: {e}"))?;
    if ordinal.is_empty() {
        return Ok((None, day));
    }
    let n: i8 = ordinal
        .trim_start_matches('+')
        .parse()
        .ok()
        .filter(|n: &i8| *n != 0 && (-5..=5).contains(n))
        .ok_or_else(|| format!("BYDAY item {item:?}: the ordinal must be 1 to 5 or -1 to -5"))?;
    Ok((Some(n), day))
}

fn parse_until(value: &str) -> Result<Until, String> {
    let bad =
        || format!("UNTIL={value} is not a date (20250131) or date-time (20250131T235959[Z])");
    let (text, utc) = match value.strip_suffix('Z') {
        Some(t) => (t, true),
        None => (value, false),
    };
    let (date, time) = match text.split_once('T') {
        Some((d, t)) => (d, t),
        None => (text, "235959"),
    };
    let digits = |s: &str, n: usize| s.len() == n && s.chars().all(|c| c.is_ascii_digit());
    if !digits(date, 8) || !digits(time, 6) {
        return Err(bad());
    }
    let num = |s: &str| s.parse::<i16>().map_err(|_| bad());
    let year = num(&date[0..4])?;
    let month = i8::try_from(num(&date[4..6])?).map_err(|_| bad())?;
    let day = i8::try_from(num(&date[6..8])?).map_err(|_| bad())?;
    let hour = i8::try_from(num(&time[0..2])?).map_err(|_| bad())?;
    let minute = i8::try_from(num(&time[2..4])?).map_err(|_| bad())?;
    let second = i8::try_from(num(&time[4..6])?).map_err(|_| bad())?;
    let dt = DateTime::new(year, month, day, hour, minute, second, 0).map_err(|_| bad())?;
    if utc {
        let ts = dt
            .to_zoned(jiff::tz::TimeZone::UTC)
            .map_err(|_| bad())?
            .timestamp();
        Ok(Until::Instant(ts))
    } else {
        Ok(Until::Local(dt))
    }
}

/// The first day of the week holding `d`, weeks starting on `start`.
fn week_start(d: Date, start: Weekday) -> Date {
    let back = i64::from(d.weekday().since(start));
    date_from_epoch_day(epoch_day(d) - back).unwrap_or(d)
}

fn add_months(year: i16, month: i8, add: i64) -> Option<(i16, i8)> {
    let total = i64::from(year) * 12 + i64::from(month) - 1 + add;
    let y = i16::try_from(total.div_euclid(12)).ok()?;
    if y > 9999 {
        return None;
    }
    let m = i8::try_from(total.rem_euclid(12) + 1).ok()?;
    Some((y, m))
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
pub(crate) fn epoch_day(d: Date) -> i64 {
    let (y, m, day) = (
        i64::from(d.year()),
        i64::from(d.month()),
        i64::from(d.day()),
    );
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date `days` after 1970-01-01; `None` outside years -9999 to 9999.
pub(crate) fn date_from_epoch_day(days: i64) -> Option<Date> {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    Date::new(
        i16::try_from(year).ok()?,
        i8::try_from(month).ok()?,
        i8::try_from(day).ok()?,
    )
    .ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn expand(rule: &str, dtstart: DateTime, from: DateTime, n: usize) -> Vec<String> {
        let rule = RecurrenceRule::parse(rule).unwrap();
        let always = |_: DateTime| true;
        rule.expand(dtstart, from, &always)
            .take(n)
            .map(|d| d.to_string())
            .collect()
    }

    #[test]
    fn epoch_days_round_trip() {
        for d in [
            date(1970, 1, 1),
            date(2000, 2, 29),
            date(2024, 12, 31),
            date(1600, 3, 1),
        ] {
            assert_eq!(date_from_epoch_day(epoch_day(d)), Some(d));
        }
        assert_eq!(epoch_day(date(1970, 1, 2)), 1);
    }

    #[test]
    fn rules_expand_as_rfc_5545_says() {
        let start = date(2025, 1, 7).at(22, 0, 0, 0); // a Tuesday
        assert_eq!(
            expand("FREQ=WEEKLY;BYDAY=TU,TH", start, start, 4),
            [
                "2025-01-07T22:00:00",
                "2025-01-09T22:00:00",
                "2025-01-14T22:00:00",
                "2025-01-16T22:00:00"
            ]
        );
        assert_eq!(
            expand("FREQ=WEEKLY;INTERVAL=2;BYDAY=TU;COUNT=3", start, start, 10),
            [
                "2025-01-07T22:00:00",
                "2025-01-21T22:00:00",
                "2025-02-04T22:00:00"
            ]
        );
        assert_eq!(
            expand("FREQ=MONTHLY;BYDAY=-1FR", start, start, 3),
            [
                "2025-01-31T22:00:00",
                "2025-02-28T22:00:00",
                "2025-03-28T22:00:00"
            ]
        );
        assert_eq!(
            expand("FREQ=MONTHLY;BYMONTHDAY=31", start, start, 3),
            [
                "2025-01-31T22:00:00",
                "2025-03-31T22:00:00",
                "2025-05-31T22:00:00"
            ]
        );
        assert_eq!(
            expand("FREQ=DAILY;UNTIL=20250109T220000", start, start, 10),
            [
                "2025-01-07T22:00:00",
                "2025-01-08T22:00:00",
                "2025-01-09T22:00:00"
            ]
        );
        assert_eq!(
            expand(
                "FREQ=YEARLY;BYMONTH=11;BYDAY=4TH;BYHOUR=9,18",
                start,
                start,
                3
            ),
            [
                "2025-11-27T09:00:00",
                "2025-11-27T18:00:00",
                "2026-11-26T09:00:00"
            ]
        );
        // Far from DTSTART without COUNT: the expansion skips ahead and stays on the rule.
        let later = date(2031, 6, 1).at(0, 0, 0, 0);
        assert_eq!(
            expand("FREQ=WEEKLY;INTERVAL=2;BYDAY=TU", start, later, 2),
            ["2031-06-03T22:00:00", "2031-06-17T22:00:00"]
        );
        // A rule that never matches ends.
        assert!(expand("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30", start, start, 1).is_empty());
    }

    #[test]
    fn unsupported_parts_are_refused_by_name() {
        for (rule, error) in [
            (
                "FREQ=HOURLY",
                "FREQ=HOURLY is not supported: windows recur daily at the finest",
            ),
            ("FREQ=MONTHLY;BYSETPOS=-1", "BYSETPOS is not supported"),
            ("BYDAY=MO", "FREQ is required"),
            (
                "FREQ=WEEKLY;BYDAY=XX",
                "BYDAY: \"XX\" is not a weekday (MO, TU, WE, TH, FR, SA, SU)",
            ),
            (
                "FREQ=WEEKLY;BYDAY=2TU",
                "BYDAY ordinals (like 2TU) need FREQ=MONTHLY or YEARLY",
            ),
            ("FREQ=DAILY;COUNT=0", "COUNT=0 is not a positive number"),
            (
                "FREQ=DAILY;BYHOUR=24",
                "BYHOUR=24: \"24\" is not between 0 and 23",
            ),
            (
                "FREQ=DAILY;COUNT=2;UNTIL=20250101",
                "give COUNT or UNTIL, not both",
            ),
        ] {
            assert_eq!(RecurrenceRule::parse(rule).unwrap_err(), error, "{rule}");
        }
    }
}
