//! Renders router snapshots as Prometheus text exposition lines, for the API's `/metrics` to
//! append to its own output.
//!
//! Families: `slipway_router_requests_total{service,version,class}` (counter; `class` is
//! `1xx`…`5xx` or `error` for requests the upstream never answered),
//! `slipway_router_request_duration_seconds{service,version}` (histogram with a bucket at every
//! power of two from 16 µs to 67 s) and `slipway_router_unrouted_total{service}` (counter).

use std::fmt::Write;

use crate::backend::Version;
use crate::metrics::{MetricsSnapshot, StatusClass};

/// Powers of two (in µs) used as `le` bounds: 2^4 µs = 16 µs … 2^26 µs ≈ 67 s.
const LE_BITS: std::ops::RangeInclusive<u32> = 4..=26;

/// Appends the three families for the given services (in the order given) to `out`.
pub fn render_prometheus(out: &mut String, services: &[(&str, &MetricsSnapshot)]) {
    // Writing into a String cannot fail; the fmt::Result is discarded.
    let _ = render_into(out, services);
}

fn render_into(out: &mut String, services: &[(&str, &MetricsSnapshot)]) -> std::fmt::Result {
    out.push_str(
        "# HELP slipway_router_requests_total Requests routed by Slipway's built-in router, by status class (error: the upstream never answered).\n\
         # TYPE slipway_router_requests_total counter\n",
    );
    for (service, snap) in services {
        let service = escape(service);
        for version in Version::ALL {
            let counts = &snap.version(version).classes;
            for class in StatusClass::ALL {
                writeln!(
                    out,
                    "slipway_router_requests_total{{service=\"{service}\",version=\"{version}\",class=\"{}\"}} {}",
                    class.label(),
                    counts.get(class)
                )?;
            }
        }
    }
    out.push_str(
        "# HELP slipway_router_request_duration_seconds Time from a request's head to the upstream's response head, through Slipway's built-in router.\n\
         # TYPE slipway_router_request_duration_seconds histogram\n",
    );
    for (service, snap) in services {
        let service = escape(service);
        for version in Version::ALL {
            let latency = &snap.version(version).latency;
            let labels = format!("service=\"{service}\",version=\"{version}\"");
            for bits in LE_BITS {
                let micros = 1u64 << bits;
                writeln!(
                    out,
                    "slipway_router_request_duration_seconds_bucket{{{labels},le=\"{}\"}} {}",
                    micros as f64 / 1e6,
                    latency.count_below(micros)
                )?;
            }
            let count = latency.count();
            writeln!(
                out,
                "slipway_router_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {count}"
            )?;
            writeln!(
                out,
                "slipway_router_request_duration_seconds_sum{{{labels}}} {}",
                latency.sum_micros() as f64 / 1e6
            )?;
            writeln!(
                out,
                "slipway_router_request_duration_seconds_count{{{labels}}} {count}"
            )?;
        }
    }
    out.push_str(
        "# HELP slipway_router_unrouted_total Requests Slipway's built-in router answered itself: no ready instance (503) or a bad version pin (400).\n\
         # TYPE slipway_router_unrouted_total counter\n",
    );
    for (service, snap) in services {
        writeln!(
            out,
            "slipway_router_unrouted_total{{service=\"{}\"}} {}",
            escape(service),
            snap.unrouted
        )?;
    }
    Ok(())
}

/// Escapes a label value: backslash, double quote and newline.
fn escape(value: &str) -> String {
    let mut escaped = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => escaped.push_str("\\\\"),
            '"' => escaped.push_str("\\\""),
            '\n' => escaped.push_str("\\n"),
            c => escaped.push(c),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn renders_counters_buckets_and_escapes_labels() {
        let mut snap = MetricsSnapshot::default();
        snap.canary.classes.add(StatusClass::ServerError, 3);
        snap.canary.classes.add(StatusClass::Success, 1);
        snap.canary.latency.record_n(Duration::from_micros(100), 3);
        snap.canary.latency.record(Duration::from_millis(3));
        snap.unrouted = 2;
        let mut out = String::new();
        render_prometheus(
            &mut out,
            &[("web", &snap), ("a\"b", &MetricsSnapshot::default())],
        );
        let has = |line: &str| out.lines().any(|l| l == line);
        assert!(has(
            r#"slipway_router_requests_total{service="web",version="canary",class="5xx"} 3"#
        ));
        assert!(has(
            r#"slipway_router_requests_total{service="web",version="stable",class="error"} 0"#
        ));
        assert!(has(
            r#"slipway_router_request_duration_seconds_bucket{service="web",version="canary",le="0.000064"} 0"#
        ));
        assert!(has(
            r#"slipway_router_request_duration_seconds_bucket{service="web",version="canary",le="0.000128"} 3"#
        ));
        assert!(has(
            r#"slipway_router_request_duration_seconds_bucket{service="web",version="canary",le="0.004096"} 4"#
        ));
        assert!(has(
            r#"slipway_router_request_duration_seconds_bucket{service="web",version="canary",le="+Inf"} 4"#
        ));
        assert!(has(
            r#"slipway_router_request_duration_seconds_sum{service="web",version="canary"} 0.0033"#
        ));
        assert!(has(
            r#"slipway_router_request_duration_seconds_count{service="web",version="canary"} 4"#
        ));
        assert!(has(r#"slipway_router_unrouted_total{service="web"} 2"#));
        assert!(has(r#"slipway_router_unrouted_total{service="a\"b"} 0"#));
        // Each family's TYPE line appears once, before its samples.
        assert_eq!(
            out.matches("# TYPE slipway_router_requests_total counter")
                .count(),
            1
        );
        // 2 services × 2 versions × (23 finite + Inf + sum + count) histogram lines.
        let histogram_lines = out
            .lines()
            .filter(|l| l.starts_with("slipway_router_request_duration_seconds"))
            .count();
        assert_eq!(histogram_lines, 2 * 2 * 26);
    }
}
