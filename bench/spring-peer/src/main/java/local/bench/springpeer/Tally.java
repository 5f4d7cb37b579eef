package local.bench.springpeer;

import java.lang.management.ManagementFactory;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import com.sun.management.OperatingSystemMXBean;

/**
 * What the listener counts, and when. Shared by every consumer thread of the listener
 * (concurrency &gt; 1): counts are atomics, updated once per batch, not per record.
 *
 * <p>A batch first reserves its slots among the {@code count} expected records ({@link #reserve}),
 * handles that many, then reports them ({@link #handled}): the checksum covers exactly the first
 * {@code count} records reserved, and the clock stops when the last of them was handled,
 * whichever thread handled it.
 */
final class Tally {

  private final long count;
  private final OperatingSystemMXBean os =
      (OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();

  /** Slots handed out to batches (may pass {@code count}; the excess is not handled). */
  private final AtomicLong reserved = new AtomicLong();
  /** Records handled. */
  private final AtomicLong done = new AtomicLong();
  /** Σ payload lengths or decoded watched_seconds. */
  private final AtomicLong checksum = new AtomicLong();
  /** The first failure; set once, ends the run. */
  private final AtomicReference<String> failure = new AtomicReference<>();
  /** Released at the count-th record or on failure. */
  private final CountDownLatch finished = new CountDownLatch(1);

  /** System.nanoTime of the last batch that handled something (progress), or of the start. */
  private volatile long lastProgressNanos;

  private volatile boolean started;
  private long firstNanos;
  private long firstCpuNanos;
  private long firstUnixMs;
  private long lastNanos;
  private long lastCpuNanos;

  Tally(long count, long startNanos) {
    this.count = count;
    this.lastProgressNanos = startNanos;
  }

  /** Marks the first record (once, whichever thread gets there first). */
  void start() {
    if (!started) {
      synchronized (this) {
        if (!started) {
          firstNanos = System.nanoTime();
          firstCpuNanos = os.getProcessCpuTime();
          firstUnixMs = System.currentTimeMillis();
          started = true;
        }
      }
    }
  }

  /** How many of a batch's {@code size} records are to be handled (0 once count is reached). */
  int reserve(int size) {
    long from = reserved.getAndAdd(size);
    if (from >= count) {
      return 0;
    }
    return (int) Math.min(size, count - from);
  }

  /** Reports {@code n} reserved records handled, adding {@code sum} to the checksum. */
  void handled(int n, long sum) {
    if (n == 0) {
      return;
    }
    checksum.addAndGet(sum);
    long now = System.nanoTime();
    lastProgressNanos = now;
    if (done.addAndGet(n) == count) {
      synchronized (this) {
        lastNanos = now;
        lastCpuNanos = os.getProcessCpuTime();
      }
      finished.countDown();
    }
  }

  /** Records a failure (the first one wins) and ends the run. */
  void fail(String message) {
    failure.compareAndSet(null, message);
    finished.countDown();
  }

  /** Whether the run is over (count reached or failed): a listener may stop working. */
  boolean over() {
    return finished.getCount() == 0;
  }

  /** Waits up to {@code millis} for the end; true once over. */
  boolean await(long millis) throws InterruptedException {
    return finished.await(millis, java.util.concurrent.TimeUnit.MILLISECONDS);
  }

  String failure() {
    return failure.get();
  }

  long handledSoFar() {
    return done.get();
  }

  long lastProgressNanos() {
    return lastProgressNanos;
  }

  /** The JSON line (call once over without failure). */
  synchronized String report(long startNanos, int concurrency) {
    return String.format(java.util.Locale.ROOT,
        "{\"count\":%d,\"timed\":%d,\"elapsed_s\":%.6f,\"checksum\":%d,\"join_s\":%.6f,"
            + "\"cpu_s\":%.6f,\"first_unix_ms\":%d,\"concurrency\":%d}",
        count, count - 1, (lastNanos - firstNanos) / 1e9, checksum.get(),
        (firstNanos - startNanos) / 1e9, Math.max(0, lastCpuNanos - firstCpuNanos) / 1e9,
        firstUnixMs, concurrency);
  }
}
