//! Kayenta's preprocessing transforms: NaN removal or replacement, outlier
//! removal, and Gaussian noise.

use crate::java_random::JavaRandom;
use crate::outliers::OutlierDetector;

/// Drops NaN values, keeping the others in order.
pub fn remove_nans(values: &[f64]) -> Vec<f64> {
    values
        .iter()
        .copied()
        .filter(|value| !value.is_nan())
        .collect()
}

/// Replaces each NaN with `replacement` (the judge uses 0.0).
pub fn replace_nans(values: &[f64], replacement: f64) -> Vec<f64> {
    values
        .iter()
        .map(|value| if value.is_nan() { replacement } else { *value })
        .collect()
}

/// Drops the values `detector` flags, keeping the others in order.
pub fn remove_outliers(values: &[f64], detector: &OutlierDetector) -> Vec<f64> {
    let flags = detector.detect(values);
    values
        .iter()
        .zip(flags)
        .filter_map(|(value, outlier)| (!outlier).then_some(*value))
        .collect()
}

/// Adds `mean + stdev·g` to every value, with one standard-normal draw `g` per
/// value from `random`.
pub fn add_gaussian_noise(
    values: &[f64],
    mean: f64,
    stdev: f64,
    random: &mut JavaRandom,
) -> Vec<f64> {
    values
        .iter()
        .map(|value| value + (mean + stdev * random.next_gaussian()))
        .collect()
}

/// [`add_gaussian_noise`] with a fresh `java.util.Random(seed)`.
pub fn add_gaussian_noise_seeded(values: &[f64], mean: f64, stdev: f64, seed: i64) -> Vec<f64> {
    add_gaussian_noise(values, mean, stdev, &mut JavaRandom::new(seed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn noise_keeps_length_and_is_deterministic() {
        let a = add_gaussian_noise_seeded(&[0.0; 5], 1.0, 1.0, 12345);
        let b = add_gaussian_noise_seeded(&[0.0; 5], 1.0, 1.0, 12345);
        assert_eq!(a.len(), 5);
        assert_eq!(a, b);
    }

    #[test]
    fn nan_helpers() {
        assert_eq!(remove_nans(&[1.0, f64::NAN, 2.0]), vec![1.0, 2.0]);
        assert_eq!(replace_nans(&[f64::NAN, 2.0], 0.0), vec![0.0, 2.0]);
    }
}
