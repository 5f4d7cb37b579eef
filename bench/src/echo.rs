//! The key-ordered benchmark's shared I/O stub: a loopback TCP echo server that answers every
//! request after a fixed delay, and the connection pool our handlers call it through.
//!
//! Every side of the key-ordered comparison (ours, Confluent's Parallel Consumer, kafkajs)
//! makes one real round trip per record to the same server, instead of sleeping, so the
//! "I/O" costs each of them the same syscalls and wake-ups a real remote call would.
//!
//! - **Protocol.** A request is [`FRAME`] bytes (the record's sequence number, `u64`
//!   little-endian); the reply is the same bytes. One request at a time per connection: a
//!   client that wants `c` calls in flight holds `c` connections.
//! - **Server.** Its own thread with a current-thread tokio runtime (the harness's runtime,
//!   which runs our handlers, does not host it): a task per connection reads the requests.
//!   Many connections and requests are served at once.
//! - **Delay.** tokio's timer ticks in whole milliseconds (a 2 ms `sleep` lasts 2–3 ms), too
//!   coarse for a 2 ms delay measured to a few percent. So a second thread keeps the
//!   deadlines (arrival + delay; with one fixed delay they come in arrival order, a FIFO),
//!   sleeps on a condition variable until the first one is due (the kernel's timer slack,
//!   50 µs by default, is its precision; a busy machine's run queue adds to it) and writes
//!   every due reply itself, on a second handle of the connection's socket.
//! - **Accounting.** The server counts requests, sums the time it held them (request read to
//!   reply about to be written), and reads its two threads' CPU time from `/proc`, so the
//!   harness can take the stub's CPU out of its own process's.

use std::collections::VecDeque;
use std::io::{Read as _, Write as _};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::sync::oneshot;

/// Bytes of a request and of its reply.
pub(crate) const FRAME: usize = 8;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A request held until its deadline, with what its reply needs.
#[derive(Debug)]
struct Held {
    at: Instant,
    received: Instant,
    to: Arc<std::net::TcpStream>,
    frame: [u8; FRAME],
}

/// Requests waiting for their deadline, in arrival (= deadline) order.
#[derive(Debug, Default)]
struct Waiting {
    queue: VecDeque<Held>,
    closed: bool,
}

/// The deadline keeper shared by the connection tasks and the timer thread, which writes
/// the replies itself (one thread hand-off less than waking the connection's task).
#[derive(Debug)]
struct Delayer {
    delay: Duration,
    waiting: Mutex<Waiting>,
    wake: Condvar,
    stats: Arc<ServerStats>,
}

impl Delayer {
    /// Queues a request received at `received`, to be answered on `to` `delay` later.
    fn hold(&self, received: Instant, to: &Arc<std::net::TcpStream>, frame: [u8; FRAME]) {
        let mut w = lock(&self.waiting);
        let was_empty = w.queue.is_empty();
        // Deadlines enter in order: the same delay after arrivals taken in order under the
        // lock (a connection's reads happen on one thread).
        let at = (received + self.delay).max(w.queue.back().map_or(received, |h| h.at));
        w.queue.push_back(Held {
            at,
            received,
            to: Arc::clone(to),
            frame,
        });
        drop(w);
        // A non-empty queue already has the timer waiting for an earlier deadline.
        if was_empty {
            self.wake.notify_one();
        }
    }

    /// The timer thread: answers each request at its deadline, until closed.
    fn run(&self) {
        let mut due = Vec::new();
        let mut w = lock(&self.waiting);
        loop {
            if w.closed {
                return;
            }
            let now = Instant::now();
            match w.queue.front().map(|h| h.at) {
                None => {
                    w = self.wake.wait(w).unwrap_or_else(PoisonError::into_inner);
                }
                Some(at) if at <= now => {
                    while w.queue.front().is_some_and(|h| h.at <= now) {
                        due.extend(w.queue.pop_front());
                    }
                    drop(w);
                    for h in due.drain(..) {
                        self.reply(&h);
                    }
                    w = lock(&self.waiting);
                }
                Some(at) => {
                    w = self
                        .wake
                        .wait_timeout(w, at - now)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0;
                }
            }
        }
    }

    /// Writes one reply. The socket is non-blocking (shared with the connection's tokio
    /// stream), but its send buffer is empty: the client sends its next request only after
    /// this reply, so 8 bytes always fit. A failed or short write (a closed connection)
    /// drops the reply; the client sees the connection close.
    fn reply(&self, h: &Held) {
        let held = u64::try_from(h.received.elapsed().as_nanos()).unwrap_or(u64::MAX);
        // Counted before the reply leaves, so a client that got it sees it counted.
        self.stats.held_nanos.fetch_add(held, Ordering::Relaxed);
        self.stats.requests.fetch_add(1, Ordering::Relaxed);
        match (&*h.to).write(&h.frame) {
            Ok(FRAME) => {}
            _ => {
                let _ = h.to.shutdown(std::net::Shutdown::Both);
            }
        }
    }

    fn close(&self) {
        lock(&self.waiting).closed = true;
        self.wake.notify_all();
    }
}

/// What the server did so far.
#[derive(Debug, Default)]
pub(crate) struct ServerStats {
    requests: AtomicU64,
    held_nanos: AtomicU64,
    connections: AtomicU64,
}

/// A snapshot of [`ServerStats`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Served {
    /// Requests answered.
    pub(crate) requests: u64,
    /// Connections accepted.
    pub(crate) connections: u64,
    /// Time requests were held (request read to reply released), summed.
    pub(crate) held: Duration,
}

impl Served {
    /// The mean hold time of the requests answered between `before` and `self`.
    pub(crate) fn mean_hold_since(&self, before: &Served) -> Option<Duration> {
        let n = self.requests.checked_sub(before.requests)?;
        let held = self.held.checked_sub(before.held)?;
        u32::try_from(n).ok().filter(|n| *n > 0).map(|n| held / n)
    }
}

/// The running echo server; stopped when dropped.
#[derive(Debug)]
pub(crate) struct EchoServer {
    addr: SocketAddr,
    stats: Arc<ServerStats>,
    delayer: Arc<Delayer>,
    stop: Option<oneshot::Sender<()>>,
    threads: Vec<JoinHandle<()>>,
    /// The server's two threads' ids (for their CPU time).
    tids: Arc<Mutex<Vec<u32>>>,
}

impl EchoServer {
    /// Starts a server on `127.0.0.1` (a free port) that answers each request `delay` after
    /// it arrived.
    pub(crate) fn start(delay: Duration) -> std::io::Result<Self> {
        let listener = std::net::TcpListener::bind(("127.0.0.1", 0))?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let stats = Arc::new(ServerStats::default());
        let delayer = Arc::new(Delayer {
            delay,
            waiting: Mutex::new(Waiting::default()),
            wake: Condvar::new(),
            stats: Arc::clone(&stats),
        });
        let tids = Arc::new(Mutex::new(Vec::new()));
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()?;
        let (stop, stopped) = oneshot::channel::<()>();
        let timer = {
            let (delayer, tids) = (Arc::clone(&delayer), Arc::clone(&tids));
            std::thread::Builder::new()
                .name("ko-echo-timer".to_owned())
                .spawn(move || {
                    lock(&tids).extend(current_tid());
                    delayer.run();
                })?
        };
        let server = {
            let (delayer, stats, tids) =
                (Arc::clone(&delayer), Arc::clone(&stats), Arc::clone(&tids));
            std::thread::Builder::new()
                .name("ko-echo".to_owned())
                .spawn(move || {
                    lock(&tids).extend(current_tid());
                    runtime.block_on(serve(listener, delayer, stats, stopped));
                })?
        };
        Ok(Self {
            addr,
            stats,
            delayer,
            stop: Some(stop),
            threads: vec![timer, server],
            tids,
        })
    }

    /// Where it listens.
    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Requests, connections and hold time so far.
    pub(crate) fn served(&self) -> Served {
        Served {
            requests: self.stats.requests.load(Ordering::Relaxed),
            connections: self.stats.connections.load(Ordering::Relaxed),
            held: Duration::from_nanos(self.stats.held_nanos.load(Ordering::Relaxed)),
        }
    }

    /// CPU time used by the server's threads so far (`None` without `/proc`).
    pub(crate) fn cpu(&self) -> Option<Duration> {
        let tids = lock(&self.tids).clone();
        if tids.len() < 2 {
            return None;
        }
        tids.iter()
            .map(|t| {
                cpu_from_stat(&std::fs::read_to_string(format!("/proc/self/task/{t}/stat")).ok()?)
            })
            .sum()
    }
}

impl Drop for EchoServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.delayer.close();
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// Accepts connections until `stopped`; each gets a task (dropped with the runtime).
async fn serve(
    listener: std::net::TcpListener,
    delayer: Arc<Delayer>,
    stats: Arc<ServerStats>,
    mut stopped: oneshot::Receiver<()>,
) {
    let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
        return;
    };
    loop {
        tokio::select! {
            _ = &mut stopped => return,
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let _ = stream.set_nodelay(true);
                stats.connections.fetch_add(1, Ordering::Relaxed);
                tokio::spawn(connection(stream, Arc::clone(&delayer)));
            }
        }
    }
}

/// One connection: reads requests and hands them to the timer thread, which answers them,
/// until the client closes it.
async fn connection(stream: tokio::net::TcpStream, delayer: Arc<Delayer>) {
    // A second handle on the same socket, for the timer thread's writes.
    let Ok(std_stream) = stream.into_std() else {
        return;
    };
    let Ok(writer) = std_stream.try_clone() else {
        return;
    };
    let writer = Arc::new(writer);
    let Ok(mut stream) = tokio::net::TcpStream::from_std(std_stream) else {
        return;
    };
    let mut frame = [0u8; FRAME];
    while stream.read_exact(&mut frame).await.is_ok() {
        delayer.hold(Instant::now(), &writer, frame);
    }
}

/// The calling thread's id, from `/proc/thread-self` (`<pid>/task/<tid>`).
fn current_tid() -> Option<u32> {
    let link = std::fs::read_link("/proc/thread-self").ok()?;
    link.file_name()?.to_str()?.parse().ok()
}

/// Clock ticks per second of `/proc`'s CPU times (`getconf CLK_TCK`: 100 on Linux x86-64
/// and arm64, fixed by the kernel's ABI).
const CLK_TCK: u64 = 100;

/// User + system CPU time from a `/proc/…/stat` line (fields 14 and 15, after the
/// parenthesised command name, which may contain spaces).
pub(crate) fn cpu_from_stat(stat: &str) -> Option<Duration> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // `rest` starts at field 3 (state): utime is field 14, stime 15.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(Duration::from_millis((utime + stime) * 1000 / CLK_TCK))
}

/// The machine's 1-minute load average (`None` without `/proc`).
pub(crate) fn load_1m() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// This process's CPU time so far (`None` without `/proc`).
pub(crate) fn process_cpu() -> Option<Duration> {
    cpu_from_stat(&std::fs::read_to_string("/proc/self/stat").ok()?)
}

/// The connections our handlers call the stub through: one is taken per call and given
/// back after it (a new one is opened when none is free), so at most as many connections
/// as calls ever ran at once. Cheaper than a connection per call: that adds a TCP
/// handshake, an accept and a task on the server, and a close per record (measured: see
/// `key_ordered.rs`).
#[derive(Debug)]
pub(crate) struct EchoPool {
    addr: SocketAddr,
    idle: Mutex<Vec<tokio::net::TcpStream>>,
}

impl EchoPool {
    pub(crate) fn new(addr: SocketAddr) -> Self {
        Self {
            addr,
            idle: Mutex::new(Vec::new()),
        }
    }

    /// One round trip: sends `value`, returns the echoed value.
    pub(crate) async fn call(&self, value: u64) -> std::io::Result<u64> {
        let idle = lock(&self.idle).pop();
        let mut conn = match idle {
            Some(c) => c,
            None => {
                let c = tokio::net::TcpStream::connect(self.addr).await?;
                c.set_nodelay(true)?;
                c
            }
        };
        conn.write_all(&value.to_le_bytes()).await?;
        let mut buf = [0u8; FRAME];
        conn.read_exact(&mut buf).await?;
        lock(&self.idle).push(conn);
        Ok(u64::from_le_bytes(buf))
    }

    /// Connections open and idle now.
    #[cfg(test)]
    fn idle(&self) -> usize {
        lock(&self.idle).len()
    }
}

/// One blocking client making `n` sequential round trips on one connection: the median
/// round trip is the stub's latency as the simplest client sees it on the idle machine.
/// Blocking: call it from a blocking thread.
pub(crate) fn calibrate(addr: SocketAddr, n: usize) -> std::io::Result<Duration> {
    let mut s = std::net::TcpStream::connect(addr)?;
    s.set_nodelay(true)?;
    let mut times = Vec::with_capacity(n);
    let mut buf = [0u8; FRAME];
    for i in 0..n as u64 {
        let t = Instant::now();
        s.write_all(&i.to_le_bytes())?;
        s.read_exact(&mut buf)?;
        times.push(t.elapsed());
        if u64::from_le_bytes(buf) != i {
            return Err(std::io::Error::other(
                "the echo server answered another value",
            ));
        }
    }
    times.sort_unstable();
    times
        .get(n / 2)
        .copied()
        .ok_or_else(|| std::io::Error::other("no round trip"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn echoes_after_the_delay_and_serves_calls_concurrently() {
        let delay = Duration::from_millis(20);
        let server = EchoServer::start(delay).unwrap();
        let pool = Arc::new(EchoPool::new(server.addr()));
        let t = Instant::now();
        assert_eq!(pool.call(42).await.unwrap(), 42);
        let one = t.elapsed();
        assert!(one >= delay && one < delay * 5, "{one:?}");
        // 32 calls at once take about one delay, not 32.
        let t = Instant::now();
        let calls: Vec<_> = (0..32u64)
            .map(|i| {
                let pool = Arc::clone(&pool);
                tokio::spawn(async move { pool.call(i * 1_000_003).await })
            })
            .collect();
        for (i, c) in calls.into_iter().enumerate() {
            assert_eq!(c.await.unwrap().unwrap(), i as u64 * 1_000_003);
        }
        let all = t.elapsed();
        assert!(all >= delay && all < delay * 8, "{all:?}");
        // The pool keeps the connections for the next calls: at most one per call in flight.
        assert!(pool.idle() >= 1 && pool.idle() <= 32, "{}", pool.idle());
        let before = server.served();
        assert_eq!(pool.call(7).await.unwrap(), 7);
        let after = server.served();
        assert_eq!(after.requests, before.requests + 1);
        assert_eq!(
            after.connections, before.connections,
            "a pooled connection was reused"
        );
        assert_eq!(after.requests, 34);
        let hold = after.mean_hold_since(&Served {
            requests: 0,
            connections: 0,
            held: Duration::ZERO,
        });
        assert!(
            hold.is_some_and(|h| h >= delay && h < delay * 3),
            "{hold:?}"
        );
        assert!(server.cpu().is_some());
    }

    #[test]
    fn calibration_measures_about_the_delay() {
        let delay = Duration::from_millis(5);
        let server = EchoServer::start(delay).unwrap();
        let rtt = calibrate(server.addr(), 11).unwrap();
        assert!(rtt >= delay && rtt < delay * 4, "{rtt:?}");
        drop(server);
    }

    #[test]
    fn cpu_times_from_proc_stat() {
        let line = "1234 (a (b) c) S 1 2 3 4 5 6 7 8 9 10 250 50 0 0 20 0 1 0 100 0 0";
        assert_eq!(cpu_from_stat(line), Some(Duration::from_secs(3)));
        assert_eq!(cpu_from_stat("garbage"), None);
        assert!(process_cpu().is_some());
    }
    /// Why the pool: 16 tasks × 300 sequential calls, pooled connections against a new
    /// connection per call; prints wall time and CPU per call (client and stub, one process).
    /// `cargo test --release -p consume-bench -- --ignored pool_vs --nocapture`
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[ignore = "a measurement, not a check"]
    async fn pool_vs_a_connection_per_call() {
        let server = EchoServer::start(Duration::from_millis(2)).unwrap();
        let addr = server.addr();
        for per_call in [false, true, false, true] {
            let pool = Arc::new(EchoPool::new(addr));
            let (cpu0, t) = (process_cpu().unwrap(), Instant::now());
            let tasks: Vec<_> = (0..16)
                .map(|_| {
                    let pool = Arc::clone(&pool);
                    tokio::spawn(async move {
                        for i in 0..300u64 {
                            if per_call {
                                let mut c = tokio::net::TcpStream::connect(addr).await.unwrap();
                                c.set_nodelay(true).unwrap();
                                c.write_all(&i.to_le_bytes()).await.unwrap();
                                let mut b = [0u8; FRAME];
                                c.read_exact(&mut b).await.unwrap();
                            } else {
                                pool.call(i).await.unwrap();
                            }
                        }
                    })
                })
                .collect();
            for t in tasks {
                t.await.unwrap();
            }
            let (wall, cpu) = (t.elapsed(), process_cpu().unwrap() - cpu0);
            eprintln!(
                "{}: {:.3} ms per call, {:.1} µs CPU per call",
                if per_call {
                    "a connection per call"
                } else {
                    "pooled"
                },
                wall.as_secs_f64() * 1e3 / 300.0,
                cpu.as_secs_f64() * 1e6 / 4_800.0
            );
        }
    }
}
