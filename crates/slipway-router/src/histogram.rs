//! A log-linear latency histogram in whole microseconds (HdrHistogram's bucket layout with 4
//! sub-bucket bits): lock-free recording, plain-value snapshots, quantiles within 6.25 %.
//!
//! Values below 16 µs get one bucket each. From 16 µs up, each power of two is split into 16
//! equal buckets, so a bucket is at most 1/16 of its lower edge wide. Values from 2^27 µs
//! (about 134 s) up share one overflow bucket. Every power of two is a bucket edge, which is
//! what the Prometheus rendering uses as its `le` bounds.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Sub-bucket bits: 2^4 = 16 buckets per power of two.
const SUB_BITS: u32 = 4;
const SUB_COUNT: u64 = 1 << SUB_BITS;
/// Values at or above 2^MAX_BITS µs land in the overflow bucket.
const MAX_BITS: u32 = 27;
/// Number of buckets, the last being the overflow bucket.
pub const BUCKETS: usize = ((MAX_BITS - SUB_BITS + 1) as usize) * (SUB_COUNT as usize) + 1;
const OVERFLOW: usize = BUCKETS - 1;

/// The bucket a value in microseconds falls into.
pub fn bucket_index(micros: u64) -> usize {
    if micros < SUB_COUNT {
        return micros as usize;
    }
    let msb = 63 - micros.leading_zeros();
    if msb >= MAX_BITS {
        return OVERFLOW;
    }
    let shift = msb - SUB_BITS;
    let sub = (micros >> shift) - SUB_COUNT;
    (shift as usize + 1) * SUB_COUNT as usize + sub as usize
}

/// The half-open range `[low, high)` of microseconds a bucket holds; the overflow bucket's
/// `high` is `u64::MAX`.
pub fn bucket_bounds(index: usize) -> (u64, u64) {
    if index < SUB_COUNT as usize {
        let low = index as u64;
        return (low, low + 1);
    }
    if index >= OVERFLOW {
        return (1 << MAX_BITS, u64::MAX);
    }
    let shift = (index / SUB_COUNT as usize - 1) as u32;
    let mantissa = SUB_COUNT + (index % SUB_COUNT as usize) as u64;
    (mantissa << shift, (mantissa + 1) << shift)
}

/// The recording side: one atomic counter per bucket plus the sum of all values.
#[derive(Debug)]
pub struct AtomicHistogram {
    buckets: Box<[AtomicU64]>,
    sum_micros: AtomicU64,
}

impl Default for AtomicHistogram {
    fn default() -> Self {
        AtomicHistogram {
            buckets: (0..BUCKETS).map(|_| AtomicU64::new(0)).collect(),
            sum_micros: AtomicU64::new(0),
        }
    }
}

impl AtomicHistogram {
    /// Records one value (truncated to whole microseconds).
    pub fn record(&self, latency: Duration) {
        let micros = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        if let Some(bucket) = self.buckets.get(bucket_index(micros)) {
            bucket.fetch_add(1, Ordering::Relaxed);
        }
        self.sum_micros.fetch_add(micros, Ordering::Relaxed);
    }

    /// Copies the current counts. Concurrent recordings may be half-visible (a bucket counted,
    /// its sum not yet); the next snapshot sees them whole.
    pub fn snapshot(&self) -> HistogramSnapshot {
        HistogramSnapshot {
            counts: self
                .buckets
                .iter()
                .map(|b| b.load(Ordering::Relaxed))
                .collect(),
            sum_micros: self.sum_micros.load(Ordering::Relaxed),
        }
    }
}

/// A histogram as plain values: what a snapshot holds and what windows are computed on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistogramSnapshot {
    counts: Vec<u64>,
    sum_micros: u64,
}

impl Default for HistogramSnapshot {
    fn default() -> Self {
        HistogramSnapshot {
            counts: vec![0; BUCKETS],
            sum_micros: 0,
        }
    }
}

impl HistogramSnapshot {
    /// Adds one value (for building snapshots by hand, e.g. in tests of guardrails).
    pub fn record(&mut self, latency: Duration) {
        self.record_n(latency, 1);
    }

    /// Adds `n` equal values.
    pub fn record_n(&mut self, latency: Duration, n: u64) {
        let micros = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        if let Some(count) = self.counts.get_mut(bucket_index(micros)) {
            *count = count.saturating_add(n);
        }
        self.sum_micros = self.sum_micros.saturating_add(micros.saturating_mul(n));
    }

    /// Number of values.
    pub fn count(&self) -> u64 {
        self.counts
            .iter()
            .fold(0u64, |acc, c| acc.saturating_add(*c))
    }

    /// Sum of all values in microseconds.
    pub fn sum_micros(&self) -> u64 {
        self.sum_micros
    }

    /// Per-bucket counts, indexed like `bucket_index`.
    pub fn counts(&self) -> &[u64] {
        &self.counts
    }

    /// Number of values below `micros` when `micros` is a bucket edge (for instance a power of
    /// two); otherwise the count below the edge of `micros`'s bucket.
    pub fn count_below(&self, micros: u64) -> u64 {
        let end = bucket_index(micros);
        self.counts
            .iter()
            .take(end)
            .fold(0u64, |acc, c| acc.saturating_add(*c))
    }

    /// The value at quantile `q` (0 < q ≤ 1): the upper edge of the bucket holding the
    /// `ceil(q·n)`-th smallest value, so it never understates (at most 6.25 % above the true
    /// value below 134 s). `None` when the histogram is empty or `q` is not in (0, 1].
    pub fn quantile(&self, q: f64) -> Option<Duration> {
        let n = self.count();
        if n == 0 || !(q > 0.0 && q <= 1.0) {
            return None;
        }
        // q·n is at most n, which fits in u64; the float product is exact enough for ranks.
        let rank = ((q * n as f64).ceil() as u64).clamp(1, n);
        let mut seen = 0u64;
        for (index, count) in self.counts.iter().enumerate() {
            seen = seen.saturating_add(*count);
            if seen >= rank {
                let (low, high) = bucket_bounds(index);
                let micros = if index == OVERFLOW { low } else { high };
                return Some(Duration::from_micros(micros));
            }
        }
        None
    }

    /// `self - earlier`, bucket by bucket; `None` when some count went down (a reset).
    pub fn checked_sub(&self, earlier: &HistogramSnapshot) -> Option<HistogramSnapshot> {
        let counts = self
            .counts
            .iter()
            .zip(earlier.counts.iter().chain(std::iter::repeat(&0)))
            .map(|(now, before)| now.checked_sub(*before))
            .collect::<Option<Vec<u64>>>()?;
        Some(HistogramSnapshot {
            counts,
            sum_micros: self.sum_micros.checked_sub(earlier.sum_micros)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_contiguous_and_cover_their_values() {
        let mut expected_low = 0;
        for index in 0..OVERFLOW {
            let (low, high) = bucket_bounds(index);
            assert_eq!(low, expected_low, "bucket {index}");
            assert!(high > low);
            assert_eq!(bucket_index(low), index);
            assert_eq!(bucket_index(high - 1), index);
            // Width at most 1/16 of the lower edge from 16 µs up.
            if low >= 16 {
                assert!((high - low) * 16 <= low, "bucket {index} too wide");
            }
            expected_low = high;
        }
        assert_eq!(expected_low, 1 << MAX_BITS);
        assert_eq!(bucket_index(1 << MAX_BITS), OVERFLOW);
        assert_eq!(bucket_index(u64::MAX), OVERFLOW);
        // Every power of two is an edge.
        for bits in 0..MAX_BITS {
            assert_eq!(bucket_bounds(bucket_index(1 << bits)).0, 1 << bits);
        }
    }

    #[test]
    fn quantiles_are_upper_bucket_edges_of_the_ranked_value() {
        let mut h = HistogramSnapshot::default();
        assert_eq!(h.quantile(0.99), None);
        for micros in 1..=100u64 {
            h.record(Duration::from_micros(micros * 10));
        }
        assert_eq!(h.count(), 100);
        assert_eq!(h.sum_micros(), 50_500);
        // 50th value is 500 µs, in [496, 512).
        assert_eq!(h.quantile(0.5), Some(Duration::from_micros(512)));
        // 99th value is 990 µs, in [960, 992).
        assert_eq!(h.quantile(0.99), Some(Duration::from_micros(992)));
        assert_eq!(h.quantile(1.0), Some(Duration::from_micros(1024)));
        assert_eq!(h.quantile(0.0), None);
        assert_eq!(h.quantile(f64::NAN), None);
        assert_eq!(h.count_below(512), 51);
    }

    #[test]
    fn huge_values_overflow_and_report_the_overflow_edge() {
        let mut h = HistogramSnapshot::default();
        h.record(Duration::from_secs(3600));
        assert_eq!(h.quantile(0.5), Some(Duration::from_micros(1 << MAX_BITS)));
        h.record(Duration::MAX);
        assert_eq!(h.count(), 2);
    }

    #[test]
    fn atomic_recording_matches_plain_recording() {
        let atomic = AtomicHistogram::default();
        let mut plain = HistogramSnapshot::default();
        for micros in [0u64, 3, 17, 250, 99_999, 5_000_000] {
            atomic.record(Duration::from_micros(micros));
            plain.record(Duration::from_micros(micros));
        }
        assert_eq!(atomic.snapshot(), plain);
        let earlier = plain.clone();
        plain.record(Duration::from_micros(40));
        let delta = plain.checked_sub(&earlier);
        assert_eq!(delta.as_ref().map(HistogramSnapshot::count), Some(1));
        assert_eq!(earlier.checked_sub(&plain), None);
    }
}
