//! Upper-tail probability of Fisher's F distribution, via the regularized
//! incomplete beta function (Lanczos log-gamma and Lentz's continued fraction).
//!
//! Only the spread check (a Slipway extra) needs it; nothing Kayenta computes
//! depends on it.

/// Lanczos coefficients (g = 7, n = 9).
#[allow(clippy::excessive_precision)]
const LANCZOS: [f64; 9] = [
    0.999_999_999_999_809_93,
    676.520_368_121_885_1,
    -1_259.139_216_722_402_8,
    771.323_428_777_653_13,
    -176.615_029_162_140_59,
    12.507_343_278_686_905,
    -0.138_571_095_265_720_12,
    9.984_369_578_019_571_6e-6,
    1.505_632_735_149_311_6e-7,
];

/// `ln Γ(x)` for `x > 0`.
fn ln_gamma(x: f64) -> f64 {
    if x < 0.5 {
        // Reflection: Γ(x)Γ(1−x) = π / sin(πx).
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut sum = LANCZOS[0];
    for (index, coefficient) in LANCZOS.iter().enumerate().skip(1) {
        sum += coefficient / (x + index as f64);
    }
    let t = x + 7.5;
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + sum.ln()
}

/// Continued fraction for the incomplete beta function (modified Lentz).
fn beta_continued_fraction(a: f64, b: f64, x: f64) -> f64 {
    const MAX_ITERATIONS: usize = 500;
    const EPSILON: f64 = 1e-15;
    const TINY: f64 = 1e-300;
    let guard = |value: f64| if value.abs() < TINY { TINY } else { value };
    let qab = a + b;
    let qap = a + 1.0;
    let qam = a - 1.0;
    let mut c = 1.0;
    let mut d = 1.0 / guard(1.0 - qab * x / qap);
    let mut h = d;
    for step in 1..=MAX_ITERATIONS {
        let m = step as f64;
        let m2 = 2.0 * m;
        let even = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1.0 / guard(1.0 + even * d);
        c = guard(1.0 + even / c);
        h *= d * c;
        let odd = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1.0 / guard(1.0 + odd * d);
        c = guard(1.0 + odd / c);
        let delta = d * c;
        h *= delta;
        if (delta - 1.0).abs() < EPSILON {
            break;
        }
    }
    h
}

/// Regularized incomplete beta `I_x(a, b)` for `a, b > 0`. NaN for invalid input.
pub fn regularized_incomplete_beta(a: f64, b: f64, x: f64) -> f64 {
    if !(a > 0.0 && b > 0.0) || x.is_nan() {
        return f64::NAN;
    }
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let front =
        (ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b) + a * x.ln() + b * (1.0 - x).ln()).exp();
    if x < (a + 1.0) / (a + b + 2.0) {
        front * beta_continued_fraction(a, b, x) / a
    } else {
        1.0 - front * beta_continued_fraction(b, a, 1.0 - x) / b
    }
}

/// `P(F > statistic)` for an F distribution with `(d1, d2)` degrees of freedom.
pub fn f_upper_tail(statistic: f64, d1: f64, d2: f64) -> f64 {
    if statistic.is_nan() || !(d1 > 0.0 && d2 > 0.0) {
        return f64::NAN;
    }
    if statistic <= 0.0 {
        return 1.0;
    }
    if statistic == f64::INFINITY {
        return 0.0;
    }
    regularized_incomplete_beta(d2 / 2.0, d1 / 2.0, d2 / (d2 + d1 * statistic))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_f_tail_values() {
        // qf(0.95, 1, 10) = 4.964603; qf(0.99, 1, 100) = 6.8953 (= t(0.995, 100)²); qf(0.95, 3, 20) = 3.098391
        assert!((f_upper_tail(4.964_603, 1.0, 10.0) - 0.05).abs() < 1e-6);
        assert!((f_upper_tail(6.8953, 1.0, 100.0) - 0.01).abs() < 1e-6);
        assert!((f_upper_tail(3.098_391, 3.0, 20.0) - 0.05).abs() < 1e-6);
        assert_eq!(f_upper_tail(0.0, 1.0, 10.0), 1.0);
        assert!(f_upper_tail(f64::NAN, 1.0, 10.0).is_nan());
    }

    #[test]
    fn ln_gamma_matches_factorials() {
        assert!((ln_gamma(5.0) - 24.0_f64.ln()).abs() < 1e-12);
        assert!((ln_gamma(0.5) - std::f64::consts::PI.sqrt().ln()).abs() < 1e-12);
    }
}
