//! Summary statistics over the measured rounds.

use crate::measure::{Measurement, Variant};

/// One measured round: every variant, and the order they ran in.
#[derive(Debug, Clone)]
pub(crate) struct Round {
    /// 1-based round number.
    pub(crate) number: usize,
    /// The order the variants ran in.
    pub(crate) order: Vec<Variant>,
    /// Each variant's measurement (every variant of `order` exactly once).
    pub(crate) results: Vec<(Variant, Measurement)>,
}

impl Round {
    /// The measurement of `v` (a zero measurement if `v` did not run).
    pub(crate) fn of(&self, v: Variant) -> Measurement {
        self.results
            .iter()
            .find(|(w, _)| *w == v)
            .map_or(Measurement::ZERO, |(_, m)| *m)
    }

    /// `v`'s rate / the raw rate in this round.
    pub(crate) fn ratio(&self, v: Variant) -> f64 {
        self.ratio_of(v, Variant::Raw)
    }

    /// `num`'s rate / `den`'s rate in this round.
    pub(crate) fn ratio_of(&self, num: Variant, den: Variant) -> f64 {
        ratio(self.of(num).rate(), self.of(den).rate())
    }
}

/// The median rate of `v` over `rounds`.
pub(crate) fn median_rate(rounds: &[Round], v: Variant) -> f64 {
    median(rounds.iter().map(|r| r.of(v).rate()).collect())
}

/// Medians of one variant compared with (a) over the rounds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Summary {
    /// Median msgs/s of (a).
    pub(crate) raw_median: f64,
    /// Median msgs/s of the variant.
    pub(crate) median: f64,
    /// Median of the per-round ratios variant/a.
    pub(crate) median_ratio: f64,
    /// Median (variant) / median (a).
    pub(crate) ratio_of_medians: f64,
}

/// Summarizes variant `v` against (a) (all zero when there are no rounds).
pub(crate) fn summarize(rounds: &[Round], v: Variant) -> Summary {
    let raw_median = median_rate(rounds, Variant::Raw);
    let v_median = median_rate(rounds, v);
    Summary {
        raw_median,
        median: v_median,
        median_ratio: median(rounds.iter().map(|r| r.ratio(v)).collect()),
        ratio_of_medians: ratio(v_median, raw_median),
    }
}

/// `num / den`, 0 when `den` is not positive.
pub(crate) fn ratio(num: f64, den: f64) -> f64 {
    if den > 0.0 { num / den } else { 0.0 }
}

/// The median (mean of the two middle values for an even count; 0 for none).
pub(crate) fn median(mut values: Vec<f64>) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
    }
}

/// A median with its 95 % bootstrap confidence interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Interval {
    /// The median of the values.
    pub(crate) median: f64,
    /// Lower bound (2.5th percentile of the resampled medians).
    pub(crate) lo: f64,
    /// Upper bound (97.5th percentile of the resampled medians).
    pub(crate) hi: f64,
}

/// Whether a target is met: only when the whole interval clears it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// The interval lies entirely on the target's good side.
    Met,
    /// The interval lies entirely on the wrong side.
    Missed,
    /// The interval straddles the target: the run cannot tell.
    Undecided,
}

impl Verdict {
    /// The word used in the tables.
    pub(crate) fn word(self) -> &'static str {
        match self {
            Verdict::Met => "met",
            Verdict::Missed => "missed",
            Verdict::Undecided => "undecided",
        }
    }
}

impl Interval {
    /// `self` against "at least `target`".
    pub(crate) fn at_least(&self, target: f64) -> Verdict {
        if self.lo >= target {
            Verdict::Met
        } else if self.hi < target {
            Verdict::Missed
        } else {
            Verdict::Undecided
        }
    }
}

/// Resamples drawn by [`bootstrap`].
const RESAMPLES: usize = 4_000;

/// The median of `values` with a 95 % percentile-bootstrap interval ([`RESAMPLES`] resamples
/// with replacement, a fixed-seed generator so the same values give the same interval). With
/// fewer than 3 values the interval is their min–max.
pub(crate) fn bootstrap(values: &[f64]) -> Interval {
    let m = median(values.to_vec());
    if values.len() < 3 {
        let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        return if values.is_empty() {
            Interval {
                median: 0.0,
                lo: 0.0,
                hi: 0.0,
            }
        } else {
            Interval { median: m, lo, hi }
        };
    }
    // xorshift64*: enough for resampling indices, no dependency.
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        state.wrapping_mul(0x2545_F491_4F6C_DD1D)
    };
    let n = values.len();
    let mut sample = vec![0.0; n];
    let mut medians = Vec::with_capacity(RESAMPLES);
    for _ in 0..RESAMPLES {
        for s in &mut sample {
            *s = values[(next() % n as u64) as usize];
        }
        medians.push(median(sample.clone()));
    }
    medians.sort_by(f64::total_cmp);
    let at = |q: f64| medians[((RESAMPLES - 1) as f64 * q).round() as usize];
    Interval {
        median: m,
        lo: at(0.025),
        hi: at(0.975),
    }
}

/// Round `number` (1-based) of a balanced schedule of `n` items (a Williams design): a
/// permutation of `0..n`. Over `n` rounds (`2n` for odd `n`) every item runs once in every
/// position and directly after every other item equally often, so neither a position nor a
/// neighbour favours one item (a rotation only balances positions: `b` would always follow
/// `a`).
pub(crate) fn balanced_order(number: usize, n: usize) -> Vec<usize> {
    if n == 0 {
        return Vec::new();
    }
    // First row: 0, 1, n-1, 2, n-2, …
    let first: Vec<usize> = (0..n)
        .map(|i| {
            if i == 0 {
                0
            } else if i % 2 == 1 {
                i.div_ceil(2)
            } else {
                n - i / 2
            }
        })
        .collect();
    let r = number.saturating_sub(1);
    let shift = r % n;
    let mut row: Vec<usize> = first.iter().map(|f| (f + shift) % n).collect();
    // Odd n needs the mirrored rows too to balance neighbours.
    if n % 2 == 1 && (r / n) % 2 == 1 {
        row.reverse();
    }
    row
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn m(rate: u64) -> Measurement {
        Measurement {
            read: rate,
            timed: rate,
            elapsed: Duration::from_secs(1),
            ..Measurement::ZERO
        }
    }

    #[test]
    fn medians() {
        assert_eq!(median(vec![]), 0.0);
        assert_eq!(median(vec![3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(vec![4.0, 1.0, 3.0, 2.0]), 2.5);
    }

    #[test]
    fn summary_of_rounds() {
        let round = |n, a, b, c| Round {
            number: n,
            order: vec![Variant::Raw, Variant::Framework, Variant::Avro],
            results: vec![
                (Variant::Raw, m(a)),
                (Variant::Framework, m(b)),
                (Variant::Avro, m(c)),
            ],
        };
        let rounds = [
            round(1, 100, 90, 80),
            round(2, 200, 100, 100),
            round(3, 150, 150, 120),
        ];
        let s = summarize(&rounds, Variant::Framework);
        assert_eq!(s.raw_median, 150.0);
        assert_eq!(s.median, 100.0);
        assert_eq!(s.median_ratio, 0.9);
        assert!((s.ratio_of_medians - 100.0 / 150.0).abs() < 1e-12);
        let c = summarize(&rounds, Variant::Avro);
        assert_eq!(c.median, 100.0);
        assert_eq!(c.median_ratio, 0.8);
        assert_eq!(rounds[0].ratio(Variant::Raw), 1.0);
        assert!(
            (rounds[0].ratio_of(Variant::Avro, Variant::Framework) - 80.0 / 90.0).abs() < 1e-12
        );
        assert_eq!(rounds[0].of(Variant::Java).rate(), 0.0);
        assert_eq!(rounds[0].ratio(Variant::Java), 0.0);
    }
    #[test]
    fn bootstrap_intervals_contain_the_median_and_narrow_with_agreement() {
        let tight = bootstrap(&[1.0, 1.01, 0.99, 1.0, 1.02, 0.98, 1.0, 1.0, 1.01, 0.99, 1.0]);
        assert_eq!(tight.median, 1.0);
        assert!(tight.lo <= 1.0 && tight.hi >= 1.0);
        assert!(tight.hi - tight.lo <= 0.021, "{tight:?}");
        let wide = bootstrap(&[0.5, 1.5, 0.7, 1.3, 1.0, 0.6, 1.4, 0.8, 1.2, 0.9, 1.1]);
        assert!(wide.hi - wide.lo > 0.2, "{wide:?}");
        assert_eq!(tight.at_least(0.95), Verdict::Met);
        assert_eq!(tight.at_least(1.1), Verdict::Missed);
        assert_eq!(wide.at_least(0.95), Verdict::Undecided);
        assert_eq!(
            bootstrap(&[2.0, 4.0]),
            Interval {
                median: 3.0,
                lo: 2.0,
                hi: 4.0
            }
        );
        assert_eq!(bootstrap(&[]).median, 0.0);
    }

    #[test]
    fn balanced_orders_are_permutations_balanced_in_position_and_neighbour() {
        for n in 1..=9 {
            let rounds = if n % 2 == 0 { n } else { 2 * n };
            let mut position = vec![vec![0; n]; n];
            let mut follows = vec![vec![0; n]; n];
            for r in 1..=rounds {
                let o = balanced_order(r, n);
                let mut sorted = o.clone();
                sorted.sort_unstable();
                assert_eq!(sorted, (0..n).collect::<Vec<_>>(), "n={n} r={r}");
                for (p, &v) in o.iter().enumerate() {
                    position[v][p] += 1;
                }
                for w in o.windows(2) {
                    follows[w[0]][w[1]] += 1;
                }
            }
            let per_position = rounds / n;
            assert!(
                position.iter().flatten().all(|&c| c == per_position),
                "n={n}"
            );
            let per_pair = if n % 2 == 0 { 1 } else { 2 };
            for (a, row) in follows.iter().enumerate() {
                for (b, &c) in row.iter().enumerate() {
                    if a != b {
                        assert_eq!(c, per_pair, "n={n}: {b} after {a}");
                    }
                }
            }
        }
    }
}
