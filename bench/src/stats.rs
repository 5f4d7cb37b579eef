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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn m(rate: u64) -> Measurement {
        Measurement {
            read: rate,
            timed: rate,
            elapsed: Duration::from_secs(1),
            bytes: 0,
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
}
