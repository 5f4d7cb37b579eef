//! The key-ordered loop (`concurrency = N`): concurrency inside one partition.
//!
//! One task per partition, as in the sequential loop, but up to `N` handler calls run at
//! once inside it (polled together, no task spawned per message):
//!
//! - **Order per key.** A message whose key already has a call running waits in that key's
//!   lane and starts when the previous one settled, so messages with the same key run
//!   strictly in offset order. Messages with different keys run concurrently. Messages
//!   without a key carry no order and run as soon as there is room. (Keys are compared by a
//!   64-bit hash; two keys colliding share a lane: order is kept, only concurrency is lost.)
//! - **Commits.** Every message read and not yet settled sits in a window in offset order.
//!   Only the contiguous settled prefix of that window is stored as the partition's offset,
//!   so a crash or a revocation never commits past a message that did not settle.
//! - **Bounded.** At most `N` calls run and at most `4·N` messages are held (running,
//!   waiting in lanes, or settled behind an unsettled one); when full, the worker stops
//!   reading its partition queue and librdkafka stops fetching once its own prefetch limit
//!   (`queued.max.messages.kbytes`) is reached: that is the partition's pause.
//! - **Revocation and shutdown.** Reading stops, running calls finish (their retries are cut
//!   short), messages still waiting in lanes are dropped unstarted, the settled prefix is
//!   stored, then the partition is released. The next owner redelivers everything after
//!   that prefix.

use std::collections::{HashMap, VecDeque};
use std::hash::BuildHasher;

use futures::StreamExt as _;
use futures::stream::FuturesUnordered;
use rdkafka::message::{BorrowedMessage, Message as _};

use super::partition::{Cursor, Exit, Partition};
use super::settle::{Settle, Settled};
use crate::handler::Handler;

/// How many records may be held per running slot (running + waiting + settled-not-stored).
const WINDOW_PER_SLOT: usize = 4;

pub(crate) async fn run<H, A>(handler: &H, p: &Partition, cur: &mut Cursor) -> Exit
where
    H: Handler<A>,
{
    let settle = p.settle();
    let limit = p.shared.options.concurrency.max(1) as usize;
    let capacity = limit * WINDOW_PER_SLOT;
    let mut window = Window::default();
    // Keys with a call running; the deque holds that key's records waiting their turn.
    let mut lanes: HashMap<u64, VecDeque<BorrowedMessage<'_>>> = HashMap::new();
    let hasher = std::collections::hash_map::RandomState::new();
    let mut running = FuturesUnordered::new();
    let mut stopping = false;
    let start = |msg, lane| one(handler, msg, p, &settle, lane);

    loop {
        if stopping && running.is_empty() {
            break;
        }
        let can_read = !stopping && running.len() < limit && window.len() < capacity;
        tokio::select! {
            biased;
            Some((offset, lane, settled)) = running.next(), if !running.is_empty() => {
                match settled {
                    Settled::Handled | Settled::Done => {
                        if let Settled::Handled = settled {
                            cur.stored.handled(1);
                        }
                        if let Some(prefix) = window.settle(offset) {
                            cur.stored.done(prefix, window.oldest());
                        }
                    }
                    // Stop requested mid-retry: this record stays unsettled, so nothing
                    // after it is stored.
                    Settled::Interrupted => stopping = true,
                }
                if p.control.stop_requested() {
                    stopping = true;
                }
                if let Some(h) = lane {
                    let next = if stopping {
                        None
                    } else {
                        lanes.get_mut(&h).and_then(VecDeque::pop_front)
                    };
                    match next {
                        Some(m) => running.push(start(m, Some(h))),
                        None => {
                            lanes.remove(&h);
                        }
                    }
                }
            }
            received = p.recv(cur), if can_read => {
                let Some(msg) = received else {
                    stopping = true;
                    continue;
                };
                let ts = msg.timestamp().to_millis();
                cur.stored.received(msg.offset(), ts, window.len() == 0);
                window.push(msg.offset(), ts);
                match msg.key() {
                    None => running.push(start(msg, None)),
                    Some(k) => {
                        let h = hasher.hash_one(k);
                        match lanes.get_mut(&h) {
                            Some(waiting) => waiting.push_back(msg),
                            None => {
                                lanes.insert(h, VecDeque::new());
                                running.push(start(msg, Some(h)));
                            }
                        }
                    }
                }
            }
            // Unreachable (nothing running means the window is empty), but never spin.
            else => break,
        }
    }
    Exit::Stopped
}

/// Settles one record; yields its offset and lane back to the loop.
async fn one<H, A>(
    handler: &H,
    msg: BorrowedMessage<'_>,
    p: &Partition,
    settle: &Settle<'_, super::dead_letter::Route>,
    lane: Option<u64>,
) -> (i64, Option<u64>, Settled)
where
    H: Handler<A>,
{
    let settled = settle.message(handler, p.delivery(&msg), None).await;
    (msg.offset(), lane, settled)
}

/// Offsets read and not yet stored, in offset order, each with its timestamp and whether it
/// settled.
#[derive(Default)]
struct Window {
    entries: VecDeque<(i64, Option<i64>, bool)>,
}

impl Window {
    fn len(&self) -> usize {
        self.entries.len()
    }

    fn push(&mut self, offset: i64, timestamp_ms: Option<i64>) {
        self.entries.push_back((offset, timestamp_ms, false));
    }

    /// The oldest unsettled record: offset and timestamp.
    fn oldest(&self) -> Option<(i64, Option<i64>)> {
        self.entries.front().map(|e| (e.0, e.1))
    }

    /// Marks `offset` settled; returns the last offset of the settled prefix if it grew.
    fn settle(&mut self, offset: i64) -> Option<i64> {
        if let Ok(i) = self.entries.binary_search_by_key(&offset, |e| e.0) {
            self.entries[i].2 = true;
        }
        let mut last = None;
        while let Some(&(o, _, true)) = self.entries.front() {
            last = Some(o);
            self.entries.pop_front();
        }
        last
    }
}

#[cfg(test)]
mod tests {
    use super::Window;

    #[test]
    fn only_the_contiguous_settled_prefix_moves() {
        let mut w = Window::default();
        for o in [10, 11, 13, 14] {
            w.push(o, Some(o * 100));
        }
        assert_eq!(w.settle(11), None, "10 is still running");
        assert_eq!(w.settle(14), None);
        assert_eq!(w.settle(10), Some(11), "10 and 11 settled; 13 has not");
        assert_eq!(w.len(), 2);
        assert_eq!(w.oldest(), Some((13, Some(1300))));
        assert_eq!(w.settle(13), Some(14));
        assert_eq!(w.len(), 0);
        assert_eq!(w.settle(99), None, "unknown offsets change nothing");
    }
}
