//! CPU accounting: what each variant's process, and the broker, spent in CPU time over the
//! variant's timed interval. On a 2-core machine shared with the broker, a rate can move
//! because the broker got more or less CPU; records per CPU second, and the broker's share,
//! show that.
//!
//! One background thread reads `/proc/<pid>/stat` (user + system time, in clock ticks of
//! 10 ms) every [`EVERY`] for three processes: this one (the in-process variants), the child
//! process that runs a peer (registered by [`Watch::child`] while it runs) and the broker
//! (the process listening on the bootstrap port). A variant's CPU over an interval given in
//! Unix time is the difference of the samples around its ends, interpolated linearly; the
//! error is one tick per end (±20 ms of CPU, about 1 % of a 2-second run).

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How often the processes are sampled.
const EVERY: Duration = Duration::from_millis(10);
/// Clock ticks per second of `/proc/<pid>/stat` (`getconf CLK_TCK`; 100 on Linux).
const TICKS_PER_SECOND: f64 = 100.0;
/// How far an interval may end after the last sample of a process that has exited (s).
const END_SLACK: f64 = 0.03;
/// Samples kept (about an hour at [`EVERY`]).
const KEEP: usize = 360_000;

/// One reading: Unix time, and each process's CPU seconds so far (`None`: not running).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Sample {
    at: f64,
    own: Option<f64>,
    child: Option<(u32, f64)>,
    broker: Option<f64>,
}

/// CPU seconds spent over one interval.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub(crate) struct Spent {
    /// By the variant's process (this one for in-process variants, else the peer's child
    /// process); `None` if it was not sampled over the whole interval.
    pub(crate) process: Option<f64>,
    /// By the broker; `None` if it was not found.
    pub(crate) broker: Option<f64>,
}

/// Where a variant runs, for [`Watch::spent`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Runs {
    /// In this process.
    InProcess,
    /// In the child process with this pid.
    Child(u32),
}

/// The running sampler. Dropping it stops the thread.
pub(crate) struct Watch {
    samples: Arc<Mutex<Vec<Sample>>>,
    child: Arc<AtomicU32>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    broker_pid: Option<u32>,
}

impl Watch {
    /// Starts sampling this process and `broker_pid` (if known).
    pub(crate) fn start(broker_pid: Option<u32>) -> Self {
        let samples = Arc::new(Mutex::new(Vec::with_capacity(4096)));
        let child = Arc::new(AtomicU32::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (samples, child, stop) =
                (Arc::clone(&samples), Arc::clone(&child), Arc::clone(&stop));
            std::thread::Builder::new()
                .name("cpu-watch".into())
                .spawn(move || {
                    let own = std::process::id();
                    while !stop.load(Ordering::Relaxed) {
                        let c = child.load(Ordering::Relaxed);
                        let s = Sample {
                            at: unix_now(),
                            own: cpu_seconds(own),
                            child: (c != 0).then(|| cpu_seconds(c).map(|t| (c, t))).flatten(),
                            broker: broker_pid.and_then(cpu_seconds),
                        };
                        let mut v = samples.lock().unwrap_or_else(|p| p.into_inner());
                        if v.len() == KEEP {
                            v.drain(..KEEP / 2);
                        }
                        v.push(s);
                        drop(v);
                        std::thread::sleep(EVERY);
                    }
                })
                .ok()
        };
        Self {
            samples,
            child,
            stop,
            thread,
            broker_pid,
        }
    }

    /// Whether the broker's process was found.
    pub(crate) fn broker_pid(&self) -> Option<u32> {
        self.broker_pid
    }

    /// Samples the child process `pid` until [`Watch::child_ended`].
    pub(crate) fn child(&self, pid: u32) {
        self.child.store(pid, Ordering::Relaxed);
    }

    /// Stops sampling the child process.
    pub(crate) fn child_ended(&self) {
        self.child.store(0, Ordering::Relaxed);
    }

    /// CPU spent from Unix time `from` to `to` (seconds) by the variant's process and the
    /// broker.
    pub(crate) fn spent(&self, runs: Runs, from: f64, to: f64) -> Spent {
        let samples = self.samples.lock().unwrap_or_else(|p| p.into_inner());
        let process = match runs {
            Runs::InProcess => over(&samples, from, to, |s| s.own),
            Runs::Child(pid) => over(&samples, from, to, |s| {
                s.child.filter(|(p, _)| *p == pid).map(|(_, t)| t)
            }),
        };
        Spent {
            process,
            broker: over(&samples, from, to, |s| s.broker),
        }
    }
}

impl Watch {
    /// CPU over the whole life of child `pid` (which started at zero CPU: its last sample),
    /// and the broker's between the child's first and last samples.
    pub(crate) fn child_life(&self, pid: u32) -> Spent {
        let samples = self.samples.lock().unwrap_or_else(|p| p.into_inner());
        let of = |s: &&Sample| s.child.is_some_and(|(p, _)| p == pid);
        let (first, last) = (samples.iter().find(of), samples.iter().rev().find(of));
        let (Some(first), Some(last)) = (first, last) else {
            return Spent::default();
        };
        Spent {
            process: last.child.map(|(_, t)| t),
            broker: over(&samples, first.at, last.at, |s| s.broker),
        }
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The value of `field` at `from` and at `to`, interpolated between the samples around each
/// end; `None` unless samples with the field bracket both ends.
fn over(
    samples: &[Sample],
    from: f64,
    to: f64,
    field: impl Fn(&Sample) -> Option<f64>,
) -> Option<f64> {
    let at = |t: f64| -> Option<f64> {
        let after = samples.partition_point(|s| s.at < t);
        let a = samples.get(after.checked_sub(1)?)?;
        let va = field(a)?;
        let Some(vb) = samples.get(after).and_then(&field) else {
            // A child that exited right after its last record has no sample after it: its
            // last sample stands in when it is at most [`END_SLACK`] older.
            return (t - a.at <= END_SLACK).then_some(va);
        };
        let b = &samples[after];
        let span = b.at - a.at;
        let w = if span > 0.0 { (t - a.at) / span } else { 0.0 };
        Some(va + (vb - va) * w)
    };
    Some((at(to)? - at(from)?).max(0.0))
}

/// The benchmark's one watch, started by [`start`].
static WATCH: std::sync::OnceLock<Watch> = std::sync::OnceLock::new();

/// Starts the benchmark's watch over this process and `broker_pid` (once; later calls do
/// nothing).
pub(crate) fn start(broker_pid: Option<u32>) {
    WATCH.get_or_init(|| Watch::start(broker_pid));
}

/// Whether the broker is watched.
pub(crate) fn broker_watched() -> bool {
    WATCH.get().and_then(Watch::broker_pid).is_some()
}

/// Samples the peer child process `pid` until [`child_ended`].
pub(crate) fn watch_child(pid: u32) {
    if let Some(w) = WATCH.get() {
        w.child(pid);
    }
}

/// The peer child process ended.
pub(crate) fn child_ended() {
    if let Some(w) = WATCH.get() {
        w.child_ended();
    }
}

/// CPU spent over `from`–`to` (Unix seconds), as [`Watch::spent`]; nothing if not started.
pub(crate) fn spent(runs: Runs, from: f64, to: f64) -> Spent {
    WATCH
        .get()
        .map_or_else(Spent::default, |w| w.spent(runs, from, to))
}

/// [`Watch::child_life`] of the benchmark's watch.
pub(crate) fn child_life(pid: u32) -> Spent {
    WATCH
        .get()
        .map_or_else(Spent::default, |w| w.child_life(pid))
}

/// The current Unix time in seconds.
pub(crate) fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// `pid`'s user + system CPU seconds so far (all its threads), from `/proc/<pid>/stat`.
pub(crate) fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_stat(&stat)
}

/// utime + stime (fields 14 and 15) of a `/proc/<pid>/stat` line, in seconds. The command
/// name (field 2) is in parentheses and may hold spaces: fields are counted after its `)`.
fn parse_stat(stat: &str) -> Option<f64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_ascii_whitespace();
    // After ")": field 3 (state) is the first; utime is field 14, the 12th after it.
    let utime: u64 = fields.nth(11)?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some((utime + stime) as f64 / TICKS_PER_SECOND)
}

/// The pid of the process listening on TCP `port` on this machine (the broker), from `ss`.
pub(crate) fn listener_pid(port: u16) -> Option<u32> {
    let out = std::process::Command::new("ss")
        .args(["-Hltnp", &format!("sport = :{port}")])
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let at = text.find("pid=")? + 4;
    let digits: String = text[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_lines_with_spaces_in_the_name_parse() {
        let line = "4242 (java main (x)) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 \
                    30 0 12345 1000000 2000 18446744073709551615";
        assert_eq!(parse_stat(line), Some(3.0));
        assert_eq!(parse_stat("garbage"), None);
        assert!(cpu_seconds(std::process::id()).is_some());
    }

    #[test]
    fn intervals_interpolate_between_samples() {
        let s = |at: f64, own: f64| Sample {
            at,
            own: Some(own),
            child: None,
            broker: (at < 3.0).then_some(own * 2.0),
        };
        let samples = [s(0.0, 0.0), s(1.0, 1.0), s(2.0, 3.0), s(3.0, 3.0)];
        let got = over(&samples, 0.5, 1.5, |s| s.own).unwrap();
        assert!((got - 1.5).abs() < 1e-9, "{got}");
        // The broker was not sampled at 3.0: no value over an interval ending there.
        assert_eq!(over(&samples, 0.5, 2.5, |s| s.broker), None);
        assert!(over(&samples, -1.0, 1.0, |s| s.own).is_none());
        assert!(over(&samples, 1.0, 9.0, |s| s.own).is_none());
        // Ending just after the last sample: that sample stands in.
        let got = over(&samples, 2.5, 3.02, |s| s.own).unwrap();
        assert!(got.abs() < 1e-9, "{got}");
    }

    #[test]
    fn a_busy_thread_shows_up_in_the_process_cpu() {
        let watch = Watch::start(None);
        std::thread::sleep(Duration::from_millis(30));
        let (from, wall) = (unix_now(), std::time::Instant::now());
        // Spin until this thread itself has used 0.3 s of CPU (however loaded the machine).
        let thread_cpu = || {
            std::fs::read_to_string("/proc/thread-self/stat")
                .ok()
                .and_then(|s| parse_stat(&s))
                .unwrap()
        };
        let start = thread_cpu();
        let mut x = 0u64;
        while thread_cpu() - start < 0.3 {
            for _ in 0..100_000 {
                x = std::hint::black_box(x.wrapping_add(1));
            }
        }
        let (to, took) = (unix_now(), wall.elapsed().as_secs_f64());
        std::thread::sleep(Duration::from_millis(30));
        let spent = watch.spent(Runs::InProcess, from, to).process.unwrap();
        // At least this thread's 0.3 s (less two ticks of sampling error); other tests'
        // threads may add, but never more than every core for the whole time.
        let cores = std::thread::available_parallelism().map_or(64, |n| n.get()) as f64;
        assert!(
            spent >= 0.28 && spent <= took * cores + 0.05,
            "{spent} CPU s in {took} s"
        );
        assert_eq!(watch.spent(Runs::Child(1), from, to).process, None);
    }
}
