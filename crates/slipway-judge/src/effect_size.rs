//! Effect sizes Kayenta uses to decide whether a statistically significant shift
//! is large enough to matter: mean ratio, CLES and Cohen's d.
//!
//! Argument order follows Kayenta's `EffectSizes`: control (baseline) first,
//! experiment (canary) second.

use crate::ranking::rank_pooled_sorted;
use crate::statistics::{Summary, mean, variance};

/// `mean(experiment) / mean(control)`, or NaN when either mean is exactly zero
/// (or undefined because a sample is empty).
pub fn mean_ratio(control: &[f64], experiment: &[f64]) -> f64 {
    ratio_of_means(mean(control), mean(experiment))
}

/// The same ratio computed from two [`Summary`] values.
pub fn mean_ratio_from_summaries(control: &Summary, experiment: &Summary) -> f64 {
    ratio_of_means(control.mean, experiment.mean)
}

fn ratio_of_means(control_mean: f64, experiment_mean: f64) -> f64 {
    if control_mean == 0.0 || experiment_mean == 0.0 {
        f64::NAN
    } else {
        experiment_mean / control_mean
    }
}

/// Common-language effect size: `P(experiment > control) + ½·P(tie)`, computed
/// from the rank sum `r1` of the experiment values in `experiment ++ control` as
/// `(2·r1 − m(m+1)) / (2·n·m)`. NaN values rank highest (commons-math
/// `NaNStrategy.MAXIMAL`). NaN when a sample is empty.
pub fn cles(control: &[f64], experiment: &[f64]) -> f64 {
    let maximal = |values: &[f64]| -> Vec<f64> {
        let mut sorted: Vec<f64> = values
            .iter()
            .map(|value| {
                if value.is_nan() {
                    f64::INFINITY
                } else {
                    *value
                }
            })
            .collect();
        sorted.sort_by(f64::total_cmp);
        sorted
    };
    let experiment_sorted = maximal(experiment);
    let control_sorted = maximal(control);
    cles_of_sorted(&control_sorted, &experiment_sorted)
}

/// [`cles`] on already sorted, NaN-free samples.
pub(crate) fn cles_of_sorted(control_sorted: &[f64], experiment_sorted: &[f64]) -> f64 {
    let m = experiment_sorted.len() as f64;
    let n = control_sorted.len() as f64;
    let r1 = rank_pooled_sorted(experiment_sorted, 0.0, control_sorted).first_rank_sum;
    (2.0 * r1 - m * (m + 1.0)) / (2.0 * n * m)
}

/// Cohen's d with pooled sample standard deviation (absolute value).
pub fn cohen_d(control: &[f64], experiment: &[f64]) -> f64 {
    let n_experiment = experiment.len() as f64;
    let n_control = control.len() as f64;
    let pooled = (((n_experiment - 1.0) * variance(experiment)
        + (n_control - 1.0) * variance(control))
        / (n_control + n_experiment - 2.0))
        .sqrt();
    (mean(experiment) - mean(control)).abs() / pooled
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::statistics::sorted_copy;

    #[test]
    fn mean_ratio_is_nan_for_zero_means() {
        assert!(mean_ratio(&[0.0, 0.0], &[1.0]).is_nan());
        assert!(mean_ratio(&[1.0], &[0.0]).is_nan());
        assert!(mean_ratio(&[], &[1.0]).is_nan());
        assert_eq!(mean_ratio(&[2.0], &[4.0]), 2.0);
    }

    #[test]
    fn cles_handles_empty_and_nan() {
        assert!(cles(&[], &[1.0]).is_nan());
        let value = cles(&[1.0], &[f64::NAN]);
        assert_eq!(value, 1.0);
        let (control, experiment) = (sorted_copy(&[1.0, 2.0]), sorted_copy(&[3.0, 4.0]));
        assert_eq!(cles_of_sorted(&control, &experiment), 1.0);
    }
}
