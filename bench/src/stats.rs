//! Summary statistics over the measured rounds.

use crate::measure::{Measurement, Variant};

/// One measured round: both variants, and the order they ran in.
#[derive(Debug, Clone)]
pub(crate) struct Round {
    /// 1-based round number.
    pub(crate) number: usize,
    /// The order the variants ran in.
    pub(crate) order: [Variant; 2],
    /// Variant (a).
    pub(crate) raw: Measurement,
    /// Variant (b).
    pub(crate) framework: Measurement,
}

impl Round {
    /// Framework rate / raw rate in this round.
    pub(crate) fn ratio(&self) -> f64 {
        ratio(self.framework.rate(), self.raw.rate())
    }
}

/// Medians over the rounds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Summary {
    /// Median msgs/s of (a).
    pub(crate) raw_median: f64,
    /// Median msgs/s of (b).
    pub(crate) framework_median: f64,
    /// Median of the per-round ratios b/a.
    pub(crate) median_ratio: f64,
    /// Median (b) / median (a).
    pub(crate) ratio_of_medians: f64,
}

/// Summarizes the rounds (all zero when there are none).
pub(crate) fn summarize(rounds: &[Round]) -> Summary {
    let raw_median = median(rounds.iter().map(|r| r.raw.rate()).collect());
    let framework_median = median(rounds.iter().map(|r| r.framework.rate()).collect());
    Summary {
        raw_median,
        framework_median,
        median_ratio: median(rounds.iter().map(Round::ratio).collect()),
        ratio_of_medians: ratio(framework_median, raw_median),
    }
}

fn ratio(num: f64, den: f64) -> f64 {
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
        let round = |n, a, b| Round {
            number: n,
            order: [Variant::Raw, Variant::Framework],
            raw: m(a),
            framework: m(b),
        };
        let s = summarize(&[round(1, 100, 90), round(2, 200, 100), round(3, 150, 150)]);
        assert_eq!(s.raw_median, 150.0);
        assert_eq!(s.framework_median, 100.0);
        assert_eq!(s.median_ratio, 0.9);
        assert!((s.ratio_of_medians - 100.0 / 150.0).abs() < 1e-12);
    }
}
