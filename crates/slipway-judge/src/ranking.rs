//! Average ranks of two samples pooled together (commons-math `NaturalRanking`
//! with `TiesStrategy.AVERAGE`), computed by merging two sorted slices.
//!
//! Both the Mann–Whitney confidence interval and the CLES effect size need, for a
//! pooled sample `first ++ second`, the sum of the ranks of the `first` values and
//! the tie term `Σ (t³ − t)` over groups of equal values. Sorting once and merging
//! gives both in linear time per evaluation, which keeps the root finder fast.

/// Result of ranking a pooled sample.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct PooledRanks {
    /// Sum of the (average, 1-based) ranks of the values of the first sample.
    pub first_rank_sum: f64,
    /// `Σ (t³ − t)` over every group of `t` equal pooled values.
    pub tie_term: f64,
}

/// Ranks `{v − shift : v ∈ first_sorted} ∪ second_sorted`.
///
/// Both slices must be sorted ascending and free of NaN. Subtracting a constant is
/// monotone in IEEE arithmetic, so the shifted first sample stays sorted; ties are
/// decided by exact equality of the shifted doubles, as Kayenta does.
pub(crate) fn rank_pooled_sorted(
    first_sorted: &[f64],
    shift: f64,
    second_sorted: &[f64],
) -> PooledRanks {
    let mut first = first_sorted.iter().map(|value| value - shift).peekable();
    let mut second = second_sorted.iter().copied().peekable();
    let mut consumed = 0.0_f64;
    let mut first_rank_sum = 0.0_f64;
    let mut tie_term = 0.0_f64;
    loop {
        let smallest = match (first.peek(), second.peek()) {
            (Some(&a), Some(&b)) => {
                if a <= b {
                    a
                } else {
                    b
                }
            }
            (Some(&a), None) => a,
            (None, Some(&b)) => b,
            (None, None) => break,
        };
        let mut from_first = 0.0_f64;
        while first.next_if(|value| *value == smallest).is_some() {
            from_first += 1.0;
        }
        let mut from_second = 0.0_f64;
        while second.next_if(|value| *value == smallest).is_some() {
            from_second += 1.0;
        }
        let group = from_first + from_second;
        if group == 0.0 {
            // Only reachable with NaN input, which callers exclude; stop rather than loop.
            break;
        }
        // Ranks consumed+1 ..= consumed+group share their average.
        let average_rank = (2.0 * (consumed + 1.0) + group - 1.0) / 2.0;
        first_rank_sum += from_first * average_rank;
        tie_term += group * group * group - group;
        consumed += group;
    }
    PooledRanks {
        first_rank_sum,
        tie_term,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranks_without_ties() {
        let ranks = rank_pooled_sorted(&[1.0, 3.0], 0.0, &[2.0, 4.0]);
        assert_eq!(ranks.first_rank_sum, 1.0 + 3.0);
        assert_eq!(ranks.tie_term, 0.0);
    }

    #[test]
    fn ties_share_the_average_rank() {
        // pooled: 1 1 1 2 ; the three 1s share rank 2.
        let ranks = rank_pooled_sorted(&[1.0, 2.0], 0.0, &[1.0, 1.0]);
        assert_eq!(ranks.first_rank_sum, 2.0 + 4.0);
        assert_eq!(ranks.tie_term, 27.0 - 3.0);
    }

    #[test]
    fn shift_moves_the_first_sample() {
        let ranks = rank_pooled_sorted(&[10.0, 20.0], 10.0, &[5.0, 15.0]);
        // pooled: 0 5 10 15 -> first has ranks 1 and 3
        assert_eq!(ranks.first_rank_sum, 4.0);
    }

    #[test]
    fn nan_input_terminates() {
        let ranks = rank_pooled_sorted(&[f64::NAN], 0.0, &[1.0]);
        assert!(ranks.first_rank_sum.is_finite());
    }
}
