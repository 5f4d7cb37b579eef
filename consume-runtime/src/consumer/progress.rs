//! Lag and stall, per partition.
//!
//! The partition loop publishes where it is ([`Progress`]: a few relaxed stores per record,
//! no shared counter); once per librdkafka statistics interval the consumer's control thread
//! reads it together with the broker's view of the partition (end offset, fetch position)
//! and turns both into the gauges ([`Watch::observe`]):
//!
//! - **lag in messages**: end offset (the last stable offset under `read_committed`, the high
//!   watermark otherwise) minus the offset of the oldest record not yet handled;
//! - **lag in seconds**: the age of the oldest record not yet handled, from its timestamp
//!   when the loop holds it; when records wait that the loop has not received yet (a fetch
//!   that keeps failing, a full queue), the time since the monitor first saw them waiting
//!   (a lower bound);
//! - **stalled**: records wait and the position has not moved for `stall_after`.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

pub(crate) use crate::metrics::Gauges;

/// `oldest_ms` when the loop holds no unsettled record.
const NOTHING_HELD: i64 = i64::MIN;
/// `oldest_ms` when the held record has no timestamp.
const NO_TIMESTAMP: i64 = i64::MIN + 1;

/// Where one partition's loop is; written by the loop, read by the monitor.
#[derive(Debug)]
pub(crate) struct Progress {
    /// The oldest record held and not settled, or the next offset to read if none is held;
    /// -1 until the loop received something.
    position: AtomicI64,
    /// Timestamp (ms) of the oldest held record, or a marker above.
    oldest_ms: AtomicI64,
}

impl Default for Progress {
    fn default() -> Self {
        Self {
            position: AtomicI64::new(-1),
            oldest_ms: AtomicI64::new(NOTHING_HELD),
        }
    }
}

/// What the loop holds, as read by the monitor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Held {
    /// Nothing: every record received settled.
    Nothing,
    /// A record with this timestamp (ms since the epoch).
    Since(i64),
    /// A record without a timestamp.
    Undated,
}

impl Progress {
    /// The oldest unsettled record is `offset`, stamped `timestamp_ms`.
    #[inline]
    pub(crate) fn in_hand(&self, offset: i64, timestamp_ms: Option<i64>) {
        self.position.store(offset, Ordering::Relaxed);
        self.oldest_ms.store(
            timestamp_ms.map_or(NO_TIMESTAMP, |t| t.max(NO_TIMESTAMP + 1)),
            Ordering::Relaxed,
        );
    }

    /// Everything before `next` settled and nothing else is held.
    #[inline]
    pub(crate) fn caught_up_to(&self, next: i64) {
        self.position.store(next, Ordering::Relaxed);
        self.oldest_ms.store(NOTHING_HELD, Ordering::Relaxed);
    }

    pub(crate) fn read(&self) -> (Option<i64>, Held) {
        let position = self.position.load(Ordering::Relaxed);
        let held = match self.oldest_ms.load(Ordering::Relaxed) {
            NOTHING_HELD => Held::Nothing,
            NO_TIMESTAMP => Held::Undated,
            t => Held::Since(t),
        };
        ((position >= 0).then_some(position), held)
    }
}

/// The broker-side view of a partition, from librdkafka's statistics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct BrokerView {
    /// The end a caught-up consumer reaches (last stable offset or high watermark).
    pub(crate) end: Option<i64>,
    /// Where the consumer would start if the loop has not received anything: the committed
    /// offset, or the fetch position.
    pub(crate) start: Option<i64>,
    /// The next offset the fetcher will ask for.
    pub(crate) fetch_position: Option<i64>,
    /// Records fetched and queued for the loop, not yet read by it.
    pub(crate) queued: i64,
}

/// What the monitor remembers of one partition between observations.
#[derive(Debug)]
pub(crate) struct Watch {
    last_position: Option<i64>,
    /// Since when the position has not moved while records waited.
    moved_at: Instant,
    /// Since when records wait that the loop does not hold.
    waiting_since: Option<Instant>,
    /// Whether nothing waited at the previous observation (waiting began after it).
    was_caught_up: bool,
    stalled: bool,
}

/// A change of the stalled state, to log and count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Transition {
    None,
    Stalled,
    Resumed,
}

impl Watch {
    pub(crate) fn new(now: Instant) -> Self {
        Self {
            last_position: None,
            moved_at: now,
            waiting_since: None,
            was_caught_up: true,
            stalled: false,
        }
    }

    /// One observation. `now_ms` is the wall clock (record timestamps are wall-clock ms).
    pub(crate) fn observe(
        &mut self,
        progress: (Option<i64>, Held),
        broker: BrokerView,
        now: Instant,
        now_ms: i64,
        stall_after: Duration,
    ) -> Option<(Gauges, Transition)> {
        let (own, held) = progress;
        let end = broker.end?;
        let position = own.or(broker.start).or(broker.fetch_position)?;
        // Idle, nothing queued and the fetcher past the end: caught up, even if `position`
        // sits before transaction markers (control records are never handed to the loop).
        let idle_at_end = held == Held::Nothing
            && broker.queued == 0
            && broker.fetch_position.is_some_and(|f| f >= end);
        let lag_messages = if idle_at_end {
            0
        } else {
            (end - position).max(0)
        };
        if self.last_position != Some(position) || lag_messages == 0 || self.was_caught_up {
            self.moved_at = now;
        }
        self.last_position = Some(position);
        self.was_caught_up = lag_messages == 0;
        let waiting = lag_messages > 0 && !matches!(held, Held::Since(_));
        if !waiting {
            self.waiting_since = None;
        } else if self.waiting_since.is_none() {
            self.waiting_since = Some(now);
        }
        let lag_seconds = match (held, self.waiting_since) {
            (Held::Since(ts), _) if lag_messages > 0 => ((now_ms - ts).max(0)) as f64 / 1000.0,
            (_, Some(since)) => now.duration_since(since).as_secs_f64(),
            _ => 0.0,
        };
        let stalled = lag_messages > 0 && now.duration_since(self.moved_at) >= stall_after;
        let transition = match (self.stalled, stalled) {
            (false, true) => Transition::Stalled,
            (true, false) => Transition::Resumed,
            _ => Transition::None,
        };
        self.stalled = stalled;
        Some((
            Gauges {
                lag_messages,
                lag_seconds,
                stalled,
            },
            transition,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STALL: Duration = Duration::from_secs(10);

    fn broker(end: i64, fetch: i64, queued: i64) -> BrokerView {
        BrokerView {
            end: Some(end),
            start: Some(0),
            fetch_position: Some(fetch),
            queued,
        }
    }

    #[test]
    fn caught_up_reads_zero_and_a_held_record_ages() {
        let p = Progress::default();
        let t0 = Instant::now();
        let mut w = Watch::new(t0);
        p.caught_up_to(100);
        let (g, _) = w
            .observe(p.read(), broker(100, 100, 0), t0, 1_000_000, STALL)
            .expect("known");
        assert_eq!((g.lag_messages, g.lag_seconds, g.stalled), (0, 0.0, false));
        // A record stamped 4 s ago is in the handler; 3 more wait behind it.
        p.in_hand(100, Some(996_000));
        let (g, _) = w
            .observe(p.read(), broker(104, 104, 3), t0, 1_000_000, STALL)
            .expect("known");
        assert_eq!(g.lag_messages, 4);
        assert!((g.lag_seconds - 4.0).abs() < 1e-9, "{g:?}");
    }

    #[test]
    fn a_position_that_does_not_move_while_records_wait_is_a_stall() {
        let p = Progress::default();
        let t0 = Instant::now();
        let mut w = Watch::new(t0);
        p.in_hand(7, Some(0));
        let obs = |w: &mut Watch, secs| {
            w.observe(
                p.read(),
                broker(20, 20, 5),
                t0 + Duration::from_secs(secs),
                0,
                STALL,
            )
            .expect("known")
        };
        assert_eq!(obs(&mut w, 0).1, Transition::None);
        assert!(!obs(&mut w, 9).0.stalled);
        let (g, t) = obs(&mut w, 10);
        assert!(g.stalled && t == Transition::Stalled, "{g:?} {t:?}");
        assert_eq!(obs(&mut w, 11).1, Transition::None, "reported once");
        p.caught_up_to(20);
        let (g, t) = w
            .observe(
                p.read(),
                broker(20, 20, 0),
                t0 + Duration::from_secs(12),
                0,
                STALL,
            )
            .expect("known");
        assert!(!g.stalled && t == Transition::Resumed && g.lag_messages == 0);
    }

    #[test]
    fn idle_after_a_long_quiet_spell_is_not_a_stall_when_records_arrive() {
        let p = Progress::default();
        let t0 = Instant::now();
        let mut w = Watch::new(t0);
        p.caught_up_to(5);
        w.observe(p.read(), broker(5, 5, 0), t0, 0, STALL);
        // An hour later records arrive: not stalled on the first look.
        let later = t0 + Duration::from_secs(3600);
        let (g, _) = w
            .observe(p.read(), broker(9, 5, 0), later, 0, STALL)
            .expect("known");
        assert!(!g.stalled && g.lag_messages == 4, "{g:?}");
    }

    #[test]
    fn records_the_loop_never_receives_age_from_when_they_were_first_seen() {
        // A fetch that keeps failing (e.g. a codec librdkafka cannot decode): nothing is
        // held, nothing is queued, the fetcher stays at 3 while the end is 10.
        let p = Progress::default();
        let t0 = Instant::now();
        let mut w = Watch::new(t0);
        let view = BrokerView {
            start: Some(3),
            ..broker(10, 3, 0)
        };
        let obs = |w: &mut Watch, secs| {
            w.observe(p.read(), view, t0 + Duration::from_secs(secs), 0, STALL)
                .expect("known")
                .0
        };
        let g = obs(&mut w, 0);
        assert_eq!(
            g.lag_messages, 7,
            "from the committed offset: nothing was received"
        );
        let g2 = obs(&mut w, 30);
        assert!(g2.lag_seconds >= 30.0 && g2.stalled, "{g2:?}");
    }

    #[test]
    fn transaction_markers_do_not_count_as_lag() {
        let p = Progress::default();
        let t0 = Instant::now();
        let mut w = Watch::new(t0);
        // Last data record 9 handled; the commit marker took offset 10; end is 11.
        p.caught_up_to(10);
        let (g, _) = w
            .observe(p.read(), broker(11, 11, 0), t0, 0, STALL)
            .expect("known");
        assert_eq!(g.lag_messages, 0);
    }

    #[test]
    fn unknown_end_gives_no_reading() {
        let p = Progress::default();
        let mut w = Watch::new(Instant::now());
        assert!(
            w.observe(p.read(), BrokerView::default(), Instant::now(), 0, STALL)
                .is_none()
        );
    }
}
