//! Dead letters as this process published them: counted by reason
//! (`consume_dead_letters_total{handler, group, reason}`), per minute over the last hour, and
//! the most recent ones with where they came from and a short summary of why. Per handler and
//! bounded (60 minutes × 6 reasons of counts, [`RECENT_DEAD_LETTERS`] records); written only
//! when a dead letter was published, so a record that is handled never touches it.
//!
//! The summary is the error's text made fit to show an operator: text in quotes (`"…"`,
//! `'…'`, `` `…` ``: where serde, apache-avro and `{:?}` put values taken from the record) is
//! replaced by `…`, control characters become spaces, and it is cut at [`SUMMARY_CHARS`]
//! characters. The runtime cannot know what else an application writes into its errors (keep
//! secrets out of them: they are logged too); the full text is in the dead letter's
//! `kafka_dlt-exception-message` header.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use metrics::Counter;

use super::DEAD_LETTERS;
use crate::consumer::DeadLetterReason;
use crate::error::HandlerError;

/// Recent dead letters kept per handler (the oldest is forgotten first).
pub const RECENT_DEAD_LETTERS: usize = 20;
/// A [`RecentDeadLetter::summary`] has at most this many characters.
pub const SUMMARY_CHARS: usize = 160;
/// Minutes the per-minute counts cover.
const MINUTES: u64 = 60;
const REASONS: usize = DeadLetterReason::ALL.len();

/// One dead letter this process published, as [`Metrics::recent_dead_letters`] returns it.
///
/// [`Metrics::recent_dead_letters`]: crate::Metrics::recent_dead_letters
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RecentDeadLetter {
    /// When it was published.
    pub at: SystemTime,
    /// The handler that failed.
    pub handler: String,
    /// Its group.
    pub group: String,
    /// Where the record was read: topic, partition, offset.
    pub topic: String,
    /// Its partition.
    pub partition: i32,
    /// Its offset.
    pub offset: i64,
    /// Where it was published.
    pub dead_letter_topic: String,
    /// Why, in one word.
    pub reason: DeadLetterReason,
    /// How many times the handler was called (0 or 1 for a rejection: extractors run first).
    pub attempts: u32,
    /// The error's text made fit to show an operator: quoted parts (`"…"`, `'…'`,
    /// `` `…` ``: where serde, apache-avro and `{:?}` put values taken from the record)
    /// replaced by `…`, control characters by spaces, cut at [`SUMMARY_CHARS`] characters.
    /// The runtime cannot know what else an application writes into its errors (keep secrets
    /// out of them: they are logged too); the full text is in the dead letter's
    /// `kafka_dlt-exception-message` header.
    pub summary: String,
}

/// How many dead letters one handler published for one reason, as
/// [`Metrics::dead_letters_last_hour`] returns it.
///
/// [`Metrics::dead_letters_last_hour`]: crate::Metrics::dead_letters_last_hour
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeadLetterCount {
    /// The handler.
    pub handler: String,
    /// Its group.
    pub group: String,
    /// Why.
    pub reason: DeadLetterReason,
    /// How many.
    pub count: u64,
}

/// A dead letter that was just published (what the dead-letter route knows of it).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Published<'a> {
    pub(crate) at: SystemTime,
    pub(crate) topic: &'a str,
    pub(crate) partition: i32,
    pub(crate) offset: i64,
    pub(crate) dead_letter_topic: &'a str,
    pub(crate) reason: DeadLetterReason,
    pub(crate) attempts: u32,
    pub(crate) error: &'a HandlerError,
}

/// One handler's dead letters.
#[derive(Debug)]
pub(crate) struct DeadLetters {
    handler: String,
    group: String,
    total: AtomicU64,
    /// By reason, in the order of [`DeadLetterReason::ALL`].
    exported: [Counter; REASONS],
    log: Mutex<Log>,
}

#[derive(Debug)]
struct Log {
    /// Oldest first.
    recent: VecDeque<RecentDeadLetter>,
    /// Indexed by minute (since the epoch) modulo [`MINUTES`].
    minutes: [Minute; MINUTES as usize],
}

impl Default for Log {
    fn default() -> Self {
        Self {
            recent: VecDeque::with_capacity(RECENT_DEAD_LETTERS),
            minutes: [Minute::default(); MINUTES as usize],
        }
    }
}

/// The counts of one minute.
#[derive(Debug, Clone, Copy, Default)]
struct Minute {
    /// Minutes since the epoch (0: unused).
    minute: u64,
    counts: [u64; REASONS],
}

fn minute_of(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs() / 60
}

impl DeadLetters {
    /// Registers one counter per reason with the installed recorder.
    pub(crate) fn register(handler: &str, group: &str) -> Self {
        let exported = DeadLetterReason::ALL.map(|reason| {
            let labels = [
                ("handler", handler.to_owned()),
                ("group", group.to_owned()),
                ("reason", reason.as_str().to_owned()),
            ];
            metrics::counter!(DEAD_LETTERS, &labels)
        });
        Self {
            handler: handler.to_owned(),
            group: group.to_owned(),
            total: AtomicU64::new(0),
            exported,
            log: Mutex::new(Log::default()),
        }
    }

    /// Counts and records a dead letter the broker acknowledged.
    pub(crate) fn published(&self, p: Published<'_>) {
        self.total.fetch_add(1, Ordering::Relaxed);
        self.exported[p.reason.index()].increment(1);
        let letter = RecentDeadLetter {
            at: p.at,
            handler: self.handler.clone(),
            group: self.group.clone(),
            topic: p.topic.to_owned(),
            partition: p.partition,
            offset: p.offset,
            dead_letter_topic: p.dead_letter_topic.to_owned(),
            reason: p.reason,
            attempts: p.attempts,
            summary: summarize(&p.error.to_string()),
        };
        let minute = minute_of(p.at);
        let mut log = self.log.lock().unwrap_or_else(|p| p.into_inner());
        let slot = &mut log.minutes[(minute % MINUTES) as usize];
        if slot.minute != minute {
            *slot = Minute {
                minute,
                counts: [0; REASONS],
            };
        }
        slot.counts[p.reason.index()] += 1;
        if log.recent.len() == RECENT_DEAD_LETTERS {
            log.recent.pop_front();
        }
        log.recent.push_back(letter);
    }

    /// Dead letters published since the process started.
    pub(crate) fn total(&self) -> u64 {
        self.total.load(Ordering::Relaxed)
    }

    /// Per reason, those published in the minute of `now` and the 59 before it.
    pub(crate) fn last_hour(&self, now: SystemTime) -> Vec<DeadLetterCount> {
        let now = minute_of(now);
        let log = self.log.lock().unwrap_or_else(|p| p.into_inner());
        let mut counts = [0u64; REASONS];
        for m in log
            .minutes
            .iter()
            .filter(|m| m.minute != 0 && m.minute <= now && now - m.minute < MINUTES)
        {
            for (sum, n) in counts.iter_mut().zip(m.counts) {
                *sum += n;
            }
        }
        DeadLetterReason::ALL
            .into_iter()
            .zip(counts)
            .filter(|(_, count)| *count > 0)
            .map(|(reason, count)| DeadLetterCount {
                handler: self.handler.clone(),
                group: self.group.clone(),
                reason,
                count,
            })
            .collect()
    }

    /// The recent dead letters, oldest first.
    pub(crate) fn recent(&self) -> Vec<RecentDeadLetter> {
        let log = self.log.lock().unwrap_or_else(|p| p.into_inner());
        log.recent.iter().cloned().collect()
    }
}

/// `text` with quoted parts replaced by `…`, control characters as spaces, cut at
/// [`SUMMARY_CHARS`] characters (the cut marked with `…`).
pub(crate) fn summarize(text: &str) -> String {
    let mut out = String::with_capacity(text.len().min(4 * SUMMARY_CHARS));
    let mut chars = text.chars();
    let mut prev: Option<char> = None;
    while let Some(c) = chars.next() {
        // An apostrophe inside a word ("don't") opens no quote.
        let quote =
            matches!(c, '"' | '`') || (c == '\'' && !prev.is_some_and(char::is_alphanumeric));
        if quote {
            // Skip to the closing quote (a backslash escapes the next character); an
            // unterminated quote hides the rest.
            while let Some(x) = chars.next() {
                if x == '\\' {
                    chars.next();
                } else if x == c {
                    break;
                }
            }
            out.push(c);
            out.push('…');
            out.push(c);
        } else if c.is_control() {
            out.push(' ');
        } else {
            out.push(c);
        }
        prev = Some(c);
    }
    let out = out.trim();
    if out.chars().count() <= SUMMARY_CHARS {
        return out.to_owned();
    }
    let mut cut: String = out.chars().take(SUMMARY_CHARS - 1).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn quoted_values_are_hidden_and_long_texts_cut() {
        assert_eq!(
            summarize(r#"invalid event "e-1": watched_seconds = 99999 is outside 0..=3600"#),
            r#"invalid event "…": watched_seconds = 99999 is outside 0..=3600"#
        );
        assert_eq!(
            summarize("invalid type: string \"sk_live_123\", expected u32 at line 1 column 9"),
            "invalid type: string \"…\", expected u32 at line 1 column 9"
        );
        assert_eq!(
            summarize("invalid value: integer `-5`, char 'x', the event's key Some(\"a\\\"b\")"),
            "invalid value: integer `…`, char '…', the event's key Some(\"…\")"
        );
        assert_eq!(
            summarize("unterminated \"secret and more"),
            "unterminated \"…\""
        );
        assert_eq!(summarize("line\nbreak\u{0}"), "line break");
        let long = summarize(&"é".repeat(500));
        assert_eq!(long.chars().count(), SUMMARY_CHARS);
        assert!(long.ends_with('…'));
    }

    fn letters() -> DeadLetters {
        metrics::with_local_recorder(&metrics::NoopRecorder, || DeadLetters::register("h", "g"))
    }

    fn publish(d: &DeadLetters, at: SystemTime, offset: i64, reason: DeadLetterReason) {
        let error = HandlerError::permanent("bad \"value\"");
        d.published(Published {
            at,
            topic: "t",
            partition: 1,
            offset,
            dead_letter_topic: "t.g.dlq",
            reason,
            attempts: 1,
            error: &error,
        });
    }

    #[test]
    fn the_last_hour_is_counted_by_reason_and_the_recent_ones_are_bounded() {
        let d = letters();
        let now = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let ago = |min: u64| now - Duration::from_secs(min * 60);
        publish(&d, ago(90), 0, DeadLetterReason::Decode); // over an hour ago
        publish(&d, ago(59), 1, DeadLetterReason::Decode);
        publish(&d, ago(1), 2, DeadLetterReason::Rejected);
        publish(&d, now, 3, DeadLetterReason::Rejected);
        let hour: Vec<(DeadLetterReason, u64)> = d
            .last_hour(now)
            .into_iter()
            .map(|c| (c.reason, c.count))
            .collect();
        assert_eq!(
            hour,
            [
                (DeadLetterReason::Decode, 1),
                (DeadLetterReason::Rejected, 2)
            ]
        );
        // An hour later, only what was published since.
        assert!(d.last_hour(now + Duration::from_secs(3600)).is_empty());
        assert_eq!(d.total(), 4);

        let recent = d.recent();
        assert_eq!(recent.len(), 4);
        assert_eq!(recent[3].offset, 3);
        assert_eq!(recent[3].summary, "bad \"…\"");
        assert_eq!(recent[3].dead_letter_topic, "t.g.dlq");
        for i in 4..30 {
            publish(&d, now, i, DeadLetterReason::Key);
        }
        let recent = d.recent();
        assert_eq!(recent.len(), RECENT_DEAD_LETTERS);
        assert_eq!(
            recent[RECENT_DEAD_LETTERS - 1].offset,
            29,
            "the newest is kept"
        );
        assert_eq!(recent[0].offset, 10, "the oldest are forgotten");
        let hour: Vec<(DeadLetterReason, u64)> = d
            .last_hour(now)
            .into_iter()
            .map(|c| (c.reason, c.count))
            .collect();
        assert_eq!(
            hour,
            [
                (DeadLetterReason::Decode, 1),
                (DeadLetterReason::Key, 26),
                (DeadLetterReason::Rejected, 2)
            ],
            "counted, though no longer among the recent ones"
        );
    }
}
