//! RFC 3339 timestamps in the JSON this crate writes (`holds.json`, summaries), and the
//! `created` annotation's text form.

use serde::{Deserialize, Deserializer, Serializer};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Formats a time as RFC 3339 in UTC (`2026-01-02T03:04:05Z`).
pub fn format(t: OffsetDateTime) -> String {
    t.to_offset(time::UtcOffset::UTC)
        .format(&Rfc3339)
        .unwrap_or_else(|_| t.unix_timestamp().to_string())
}

/// Parses an RFC 3339 time.
pub fn parse(text: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(text, &Rfc3339).ok()
}

/// `#[serde(with = "crate::timestamp::rfc3339")]` for an `OffsetDateTime` field.
pub mod rfc3339 {
    use super::*;

    pub fn serialize<S: Serializer>(t: &OffsetDateTime, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format(*t))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<OffsetDateTime, D::Error> {
        let text = String::deserialize(d)?;
        parse(&text)
            .ok_or_else(|| serde::de::Error::custom(format!("{text:?} is not an RFC 3339 time")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_round_trip_in_utc() {
        let t = time::macros::datetime!(2026-01-02 03:04:05 +02:00);
        assert_eq!(format(t), "2026-01-02T01:04:05Z");
        assert_eq!(parse(&format(t)), Some(t));
        assert_eq!(parse("yesterday"), None);
    }
}
