//! Brent's root finder as Kayenta uses it: a step-for-step port of R's
//! `zeroin` (`R_zeroin2`, behind `uniroot`), wrapped like commons-math's
//! `AbstractUnivariateSolver.solve(maxEval, f, min, max)`.
//!
//! The Mann–Whitney statistic is a step function of the shift, so "a root" is any
//! point inside the tolerance where the sign flips. Which point zeroin stops at
//! depends on every interpolation it makes; upstream compares such roots to 1e-6
//! with a 1e-4 solver tolerance, so the arithmetic below follows zeroin literally.

/// Absolute tolerance Kayenta passes to the solver.
pub const ROOT_TOLERANCE: f64 = 1e-4;
/// Iteration budget (zeroin runs `maxit + 1` passes of its loop).
pub const MAX_ITERATIONS: usize = 1000;
/// Machine epsilon as zeroin spells it.
const EPSILON: f64 = 2.220_446_049_250_313e-16;

/// Why the solver could not run.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RootFinderError<E> {
    /// `min < (min + max) / 2 < max` does not hold (commons-math `verifySequence`).
    #[error("invalid search interval [{min}, {max}]")]
    InvalidInterval {
        /// Lower end.
        min: f64,
        /// Upper end.
        max: f64,
    },
    /// The function itself failed.
    #[error("{0}")]
    Function(E),
}

/// commons-math `Precision.equals(value, 0.0)` (one ulp): zero or the smallest
/// subnormal of either sign.
fn is_zero_within_one_ulp(value: f64) -> bool {
    value == 0.0 || value.abs() == f64::from_bits(1)
}

/// Solves `f(x) = 0` on `[min, max]` the way Kayenta calls its Brent solver:
/// check the interval, evaluate both ends, then run [`zeroin`].
pub fn solve<E, F>(min: f64, max: f64, mut f: F) -> Result<f64, RootFinderError<E>>
where
    F: FnMut(f64) -> Result<f64, E>,
{
    let initial = min + 0.5 * (max - min);
    if !(min < initial && initial < max) {
        return Err(RootFinderError::InvalidInterval { min, max });
    }
    let f_min = f(min).map_err(RootFinderError::Function)?;
    let f_max = f(max).map_err(RootFinderError::Function)?;
    zeroin(min, max, f_min, f_max, f).map_err(RootFinderError::Function)
}

/// R's `zeroin` with Kayenta's constants (tolerance 1e-4, 1000 iterations).
/// `f_a` and `f_b` are `f(a)` and `f(b)`. Returns the last approximation if the
/// iteration budget runs out, like R.
pub fn zeroin<E, F>(a_start: f64, b_start: f64, f_a: f64, f_b: f64, mut f: F) -> Result<f64, E>
where
    F: FnMut(f64) -> Result<f64, E>,
{
    let tol = ROOT_TOLERANCE;
    let mut a = a_start;
    let mut b = b_start;
    let mut fa = f_a;
    let mut fb = f_b;
    let mut c = a;
    let mut fc = fa;

    // First test if we have found a root at an endpoint.
    if is_zero_within_one_ulp(fa) {
        return Ok(a);
    }
    if is_zero_within_one_ulp(fb) {
        return Ok(b);
    }

    for _ in 0..=MAX_ITERATIONS {
        let prev_step = b - a;

        if fc.abs() < fb.abs() {
            // Swap so that b is the best approximation.
            a = b;
            b = c;
            c = a;
            fa = fb;
            fb = fc;
            fc = fa;
        }
        let tol_act = 2.0 * EPSILON * b.abs() + tol / 2.0;
        let mut new_step = (c - b) / 2.0;

        if new_step.abs() <= tol_act || is_zero_within_one_ulp(fb) {
            return Ok(b);
        }

        // Decide if interpolation can be tried: previous step large enough and
        // in the right direction.
        if prev_step.abs() >= tol_act && fa.abs() > fb.abs() {
            let cb = c - b;
            let mut p;
            let mut q;
            if a == c {
                // Only two distinct points: linear interpolation.
                let t1 = fb / fa;
                p = cb * t1;
                q = 1.0 - t1;
            } else {
                // Inverse quadratic interpolation.
                q = fa / fc;
                let t1 = fb / fc;
                let t2 = fb / fa;
                p = t2 * (cb * q * (q - t1) - (b - a) * (t1 - 1.0));
                q = (q - 1.0) * (t1 - 1.0) * (t2 - 1.0);
            }
            if p > 0.0 {
                q = -q;
            } else {
                p = -p;
            }
            if p < (0.75 * cb * q - (tol_act * q).abs() / 2.0) && p < (prev_step * q / 2.0).abs() {
                new_step = p / q;
            }
        }

        if new_step.abs() < tol_act {
            new_step = if new_step > 0.0 { tol_act } else { -tol_act };
        }
        a = b;
        fa = fb;
        b += new_step;
        fb = f(b)?;
        if (fb > 0.0 && fc > 0.0) || (fb < 0.0 && fc < 0.0) {
            // Keep c on the opposite side of the root from b.
            c = a;
            fc = fa;
        }
    }
    Ok(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn solve_plain(min: f64, max: f64, f: impl Fn(f64) -> f64) -> f64 {
        solve::<(), _>(min, max, |x| Ok(f(x))).unwrap_or(f64::NAN)
    }

    #[test]
    fn finds_smooth_roots_within_tolerance() {
        let root = solve_plain(0.0, 3.0, |x| x * x - 2.0);
        assert!((root - std::f64::consts::SQRT_2).abs() < ROOT_TOLERANCE);
    }

    #[test]
    fn finds_step_roots() {
        let root = solve_plain(-10.0, 10.0, |x| if x < 1.5 { 1.0 } else { -1.0 });
        assert!((root - 1.5).abs() < ROOT_TOLERANCE);
    }

    #[test]
    fn rejects_degenerate_intervals() {
        assert!(solve::<(), _>(1.0, 1.0, Ok).is_err());
        assert!(solve::<(), _>(f64::NAN, 1.0, Ok).is_err());
        assert!(solve::<(), _>(2.0, 1.0, Ok).is_err());
    }

    #[test]
    fn nan_function_values_terminate() {
        let root = solve_plain(0.0, 1.0, |_| f64::NAN);
        assert!(root.is_finite());
    }
}
