//! The key-ordered benchmark's workloads and the bound they allow.
//!
//! - **Keys.** Each record's key is drawn from [`KEYS`] keys, independently: uniformly, or
//!   Zipf-distributed with exponent [`ZIPF_S`] (key of rank `r` with probability
//!   `r^-s / H(KEYS, s)`; with `s = 1` over 1 000 keys the hottest key carries 13.4 % of the
//!   records, the ten hottest 39 %). A fixed-seed generator draws one sequence per
//!   distribution, and every topic of that distribution holds a prefix of it, so a run is
//!   reproducible and the records are known before they are read.
//! - **Bound.** `N` records of which the hottest key has `n_max`, each call taking `d`, at
//!   most `c` calls at once and one call at a time per key: no schedule finishes before
//!   `max(N / c, n_max) · d` ([`lower_bound`]): `c` slots must hold `N` calls of `d`, and
//!   the hottest key's calls run one after another.
//! - **Look-ahead.** Our key-ordered loop holds at most `4·c` records from the oldest
//!   unsettled one on (running, waiting behind their key, or settled behind an unsettled
//!   one), so a hot key can keep it from reading far enough ahead to fill its slots.
//!   [`window_makespan`] plays that exact policy with calls of exactly `d` and no other cost:
//!   how much of the bound the window itself gives away, apart from any overhead.

use std::collections::{HashMap, VecDeque};

/// Distinct keys.
pub(crate) const KEYS: u32 = 1_000;
/// The Zipf exponent.
pub(crate) const ZIPF_S: f64 = 1.0;

/// How keys are drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Dist {
    /// Every key equally likely.
    Uniform,
    /// Zipf with exponent [`ZIPF_S`] over [`KEYS`] keys.
    Zipf,
}

impl Dist {
    pub(crate) const ALL: [Dist; 2] = [Dist::Uniform, Dist::Zipf];

    /// The name in tables.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Dist::Uniform => "uniform",
            Dist::Zipf => "Zipf",
        }
    }

    /// The seed of its key sequence.
    fn seed(self) -> u64 {
        match self {
            Dist::Uniform => 0x5EED_0001,
            Dist::Zipf => 0x5EED_0002,
        }
    }
}

/// xorshift64*: a small fixed-seed generator (reproducible sequences, no dependency).
#[derive(Debug, Clone)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        // Zero is xorshift's one fixed point.
        Self(seed.max(1))
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `[0, 1)` (53 random bits).
    pub(crate) fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// A Zipf sampler over ranks `0..n` (rank 0 the most likely) by inverting its cumulative
/// distribution: `P(rank r) = (r + 1)^-s / Σ_{i=1..n} i^-s`.
#[derive(Debug, Clone)]
pub(crate) struct Zipf {
    cdf: Vec<f64>,
}

impl Zipf {
    pub(crate) fn new(n: u32, s: f64) -> Self {
        let weights: Vec<f64> = (1..=n).map(|r| f64::from(r).powf(-s)).collect();
        let total: f64 = weights.iter().sum();
        let mut acc = 0.0;
        let mut cdf: Vec<f64> = weights
            .iter()
            .map(|w| {
                acc += w / total;
                acc
            })
            .collect();
        // Rounding must not leave a gap above the last rank.
        if let Some(last) = cdf.last_mut() {
            *last = 1.0;
        }
        Self { cdf }
    }

    /// The probability of rank `r`.
    #[cfg(test)]
    pub(crate) fn p(&self, r: usize) -> f64 {
        self.cdf[r] - if r == 0 { 0.0 } else { self.cdf[r - 1] }
    }

    /// The rank for a uniform `u` in `[0, 1)`.
    pub(crate) fn rank(&self, u: f64) -> u32 {
        let r = self
            .cdf
            .partition_point(|c| *c <= u)
            .min(self.cdf.len() - 1);
        u32::try_from(r).unwrap_or(u32::MAX)
    }
}

/// The first `n` keys (indices in `0..KEYS`) of `dist`'s sequence. Zipf ranks are mapped to
/// key indices by a fixed permutation, so the hot keys are not simply `learner-0, 1, …`.
pub(crate) fn key_sequence(dist: Dist, n: usize) -> Vec<u32> {
    let mut rng = Rng::new(dist.seed());
    match dist {
        Dist::Uniform => (0..n)
            .map(|_| u32::try_from(rng.next_u64() % u64::from(KEYS)).unwrap_or(0))
            .collect(),
        Dist::Zipf => {
            let zipf = Zipf::new(KEYS, ZIPF_S);
            // A multiplier coprime with KEYS (1 000 = 2^3 · 5^3) permutes 0..KEYS.
            (0..n)
                .map(|_| (zipf.rank(rng.next_f64()) * 7_919 + 13) % KEYS)
                .collect()
        }
    }
}

/// The records of one topic: each record's key index and its sequence number within its key.
#[derive(Debug, Clone)]
pub(crate) struct Workload {
    pub(crate) keys: Vec<u32>,
}

impl Workload {
    pub(crate) fn new(dist: Dist, n: usize) -> Self {
        Self {
            keys: key_sequence(dist, n),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.keys.len()
    }

    /// `(key name, sequence number within the key)` of every record, in order.
    pub(crate) fn records(&self) -> Vec<(String, u64)> {
        let mut next: HashMap<u32, u64> = HashMap::new();
        self.keys
            .iter()
            .map(|k| {
                let seq = next.entry(*k).or_insert(0);
                let r = (key_name(*k), *seq);
                *seq += 1;
                r
            })
            .collect()
    }

    /// Records per key, largest first.
    pub(crate) fn counts(&self) -> Vec<u64> {
        let mut per: HashMap<u32, u64> = HashMap::new();
        for k in &self.keys {
            *per.entry(*k).or_insert(0) += 1;
        }
        let mut v: Vec<u64> = per.into_values().collect();
        v.sort_unstable_by(|a, b| b.cmp(a));
        v
    }

    /// The hottest key's record count.
    pub(crate) fn hottest(&self) -> u64 {
        self.counts().first().copied().unwrap_or(0)
    }

    /// Distinct keys present.
    #[cfg(test)]
    pub(crate) fn distinct(&self) -> usize {
        self.counts().len()
    }

    /// The sum of every record's sequence number: what the echo round trips add up to.
    pub(crate) fn checksum(&self) -> u64 {
        self.counts()
            .iter()
            .map(|n| n * n.saturating_sub(1) / 2)
            .sum()
    }
}

/// The key name of key index `k`.
pub(crate) fn key_name(k: u32) -> String {
    format!("learner-{k}")
}

/// The least time, in units of one call, any key-ordered schedule of `n` records whose
/// hottest key has `hottest` needs with `c` calls at once: `max(n / c, hottest)`.
pub(crate) fn lower_bound(n: u64, hottest: u64, c: u32) -> f64 {
    (n as f64 / f64::from(c.max(1))).max(hottest as f64)
}

/// Look-ahead of our key-ordered loop: records held per call slot (`WINDOW_PER_SLOT` in
/// `consume-runtime/src/consumer/lanes.rs`).
pub(crate) const WINDOW_PER_SLOT: usize = 4;

/// The time, in units of one call, our key-ordered loop's policy takes over `keys` when
/// every call takes exactly one unit and nothing else costs anything: records are read in
/// offset order while fewer than `c` calls run and fewer than `window` records are held
/// (from the oldest unsettled one to the newest read); a record whose key has a call running
/// waits in that key's lane and starts when it settles; completions are handled before
/// reads.
pub(crate) fn window_makespan(keys: &[u32], c: usize, window: usize) -> u64 {
    let (c, window) = (c.max(1), window.max(1));
    let n = keys.len();
    let mut settled = vec![false; n];
    let mut low = 0; // oldest unsettled
    let mut read = 0; // next to read
    let mut running: Vec<usize> = Vec::new(); // started now, finishing at t + 1
    let mut lanes: HashMap<u32, VecDeque<usize>> = HashMap::new();
    let mut t = 0;
    loop {
        while running.len() < c && read - low < window && read < n {
            let k = keys[read];
            match lanes.get_mut(&k) {
                Some(waiting) => waiting.push_back(read),
                None => {
                    lanes.insert(k, VecDeque::new());
                    running.push(read);
                }
            }
            read += 1;
        }
        if running.is_empty() {
            return t;
        }
        t += 1;
        for r in std::mem::take(&mut running) {
            settled[r] = true;
            let k = keys[r];
            match lanes.get_mut(&k).and_then(VecDeque::pop_front) {
                Some(next) => running.push(next),
                None => {
                    lanes.remove(&k);
                }
            }
        }
        while low < n && settled[low] {
            low += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zipf_probabilities_follow_the_power_law() {
        let z = Zipf::new(KEYS, 1.0);
        let h: f64 = (1..=KEYS).map(|r| 1.0 / f64::from(r)).sum();
        assert!((z.p(0) - 1.0 / h).abs() < 1e-12);
        assert!((z.p(0) - 0.1336).abs() < 1e-3, "{}", z.p(0));
        assert!((z.p(1) * 2.0 - z.p(0)).abs() < 1e-12);
        assert!((z.p(999) * 1000.0 - z.p(0)).abs() < 1e-9);
        assert_eq!(z.rank(0.0), 0);
        assert_eq!(z.rank(z.p(0) - 1e-9), 0);
        assert_eq!(z.rank(z.p(0) + 1e-9), 1);
        assert_eq!(z.rank(0.999_999_999_999), KEYS - 1);
        // s = 0 is uniform.
        let flat = Zipf::new(4, 0.0);
        assert!((0..4).all(|r| (flat.p(r) - 0.25).abs() < 1e-12));
    }

    #[test]
    fn sampled_frequencies_match() {
        let n = 200_000;
        let w = Workload::new(Dist::Zipf, n);
        let counts = w.counts();
        let z = Zipf::new(KEYS, ZIPF_S);
        for r in [0, 1, 9, 99] {
            let expected = z.p(r) * n as f64;
            let sd = expected.sqrt();
            let got = counts[r] as f64;
            // Sorted counts vs. rank probabilities: within 5 standard deviations.
            assert!(
                (got - expected).abs() < 5.0 * sd + 2.0,
                "rank {r}: {got} vs {expected}"
            );
        }
        let u = Workload::new(Dist::Uniform, n);
        assert_eq!(u.distinct(), KEYS as usize);
        let mean = n as f64 / f64::from(KEYS);
        assert!((u.hottest() as f64) < mean + 6.0 * mean.sqrt());
        // Prefixes: a shorter topic holds the same first records.
        assert_eq!(Workload::new(Dist::Zipf, 100).keys, w.keys[..100]);
    }

    #[test]
    fn records_carry_per_key_sequence_numbers() {
        let w = Workload {
            keys: vec![3, 1, 3, 3, 1],
        };
        let r = w.records();
        assert_eq!(
            r,
            vec![
                ("learner-3".to_owned(), 0),
                ("learner-1".to_owned(), 0),
                ("learner-3".to_owned(), 1),
                ("learner-3".to_owned(), 2),
                ("learner-1".to_owned(), 1),
            ]
        );
        assert_eq!(w.counts(), vec![3, 2]);
        assert_eq!(w.hottest(), 3);
        assert_eq!(w.checksum(), 1 + 2 + 1);
    }

    #[test]
    fn the_bound_is_the_slots_or_the_hottest_key() {
        assert_eq!(lower_bound(1_000, 10, 1), 1_000.0);
        assert_eq!(lower_bound(1_000, 10, 64), 15.625);
        assert_eq!(lower_bound(1_000, 134, 64), 134.0);
        assert_eq!(lower_bound(1_000, 134, 0), 1_000.0);
    }

    #[test]
    fn the_window_policy_reaches_the_bound_when_keys_allow_and_not_beyond() {
        // Round-robin keys: no key ever blocks; c slots finish n records in n / c.
        let rr: Vec<u32> = (0..1_000).map(|i| i % 100).collect();
        assert_eq!(window_makespan(&rr, 10, 40), 100);
        assert_eq!(window_makespan(&rr, 1, 4), 1_000);
        // One key: one at a time whatever c.
        assert_eq!(window_makespan(&[7; 50], 8, 32), 50);
        // A hot key first then others: the window (4) stops reading past the hot key's
        // backlog, so the others wait although slots are free.
        let keys = [0, 0, 0, 0, 0, 0, 1, 2, 3, 4];
        assert_eq!(window_makespan(&keys, 4, 4), 7);
        assert_eq!(window_makespan(&keys, 4, 100), 6);
        // Never below the bound.
        for dist in Dist::ALL {
            let w = Workload::new(dist, 4_000);
            for c in [1, 4, 16, 64] {
                let t = window_makespan(&w.keys, c, WINDOW_PER_SLOT * c);
                let b = lower_bound(4_000, w.hottest(), c as u32);
                assert!(t as f64 >= b, "{dist:?} c={c}: {t} < {b}");
            }
        }
        assert_eq!(window_makespan(&[], 4, 16), 0);
    }
}
