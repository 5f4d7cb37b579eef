package local.bench;

import io.confluent.parallelconsumer.ParallelConsumerOptions;
import io.confluent.parallelconsumer.ParallelConsumerOptions.ProcessingOrder;
import io.confluent.parallelconsumer.ParallelStreamProcessor;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.StringDeserializer;

/**
 * Key-ordered benchmark peer for consume-bench (bench/src/key_ordered.rs): Confluent's Parallel Consumer with
 * {@code ProcessingOrder.KEY} and {@code maxConcurrency = <concurrency>}, every record making one round trip to the
 * harness's echo stub over a blocking socket of the worker thread that handles it (one connection per worker thread,
 * kept for the run). Reads {@code <count>} records from the beginning of {@code <topic>} with a fresh group; first, with
 * {@code --warmup-topic}, the first {@code <warmup-count>} records of that topic with another Parallel Consumer
 * instance and group (untimed: the JIT compiles the same code paths; the timed instance starts with a warm JVM but,
 * like any restart, its own adaptive buffer at its initial size).
 *
 * <pre>
 * usage: java -cp ... local.bench.KeyOrderedPeer --bootstrap 127.0.0.1:9092 --topic t --group g --count n
 *          --concurrency c --echo 127.0.0.1:port [--warmup-topic w --warmup-count m] [--timeout-ms 120000]
 * </pre>
 *
 * <p>stdout: one JSON line at the end, {"count","timed","elapsed_s","checksum","join_s","cpu_s","first_unix_ms",
 * "violations","io_s","key_io_s"}: the clock runs from the first call's start to the {@code <count>}-th call's end (all {@code count}
 * records are inside it, so {@code timed = count}); {@code join_s} from the timed instance's creation to its first call;
 * {@code cpu_s} is the process's CPU time (every thread) over the same span; {@code checksum} sums the echoed values
 * (each record's sequence number within its key, its value); {@code violations} counts records whose sequence number
 * is not one more than the previous one of the same key; {@code io_s} sums the round trips' durations, {@code key_io_s} is the
 * largest per-key sum of them.
 */
public final class KeyOrderedPeer {
    private KeyOrderedPeer() {}

    private static final class Args {
        String bootstrap;
        String topic;
        String group;
        long count;
        int concurrency;
        String echoHost;
        int echoPort;
        long timeoutMs = 120_000;
        String warmupTopic;
        long warmupCount;
    }

    private static Args parse(String[] argv) {
        Map<String, String> m = new HashMap<>();
        for (int i = 0; i < argv.length; i += 2) {
            if (!argv[i].startsWith("--") || i + 1 >= argv.length) {
                throw new IllegalArgumentException("expected --name value pairs, got `" + argv[i] + "`");
            }
            m.put(argv[i].substring(2), argv[i + 1]);
        }
        Args a = new Args();
        a.bootstrap = required(m, "bootstrap");
        a.topic = required(m, "topic");
        a.group = required(m, "group");
        a.count = Long.parseLong(required(m, "count"));
        a.concurrency = Integer.parseInt(required(m, "concurrency"));
        String echo = required(m, "echo");
        int colon = echo.lastIndexOf(':');
        if (colon < 0) {
            throw new IllegalArgumentException("--echo must be host:port, got `" + echo + "`");
        }
        a.echoHost = echo.substring(0, colon);
        a.echoPort = Integer.parseInt(echo.substring(colon + 1));
        a.warmupTopic = m.get("warmup-topic");
        if (m.containsKey("warmup-count")) {
            a.warmupCount = Long.parseLong(m.get("warmup-count"));
        }
        if (m.containsKey("timeout-ms")) {
            a.timeoutMs = Long.parseLong(m.get("timeout-ms"));
        }
        if (a.count < 1 || a.concurrency < 1) {
            throw new IllegalArgumentException("--count and --concurrency must be at least 1");
        }
        return a;
    }

    private static String required(Map<String, String> m, String name) {
        String v = m.get(name);
        if (v == null) {
            throw new IllegalArgumentException("--" + name + " is required");
        }
        return v;
    }

    /** One connection to the echo stub: one request at a time. */
    private static final class Echo {
        private final Socket socket;
        private final DataOutputStream out;
        private final DataInputStream in;
        private final ByteBuffer buf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);

        Echo(String host, int port) throws IOException {
            socket = new Socket();
            socket.setTcpNoDelay(true);
            socket.connect(new InetSocketAddress(host, port));
            out = new DataOutputStream(socket.getOutputStream());
            in = new DataInputStream(socket.getInputStream());
        }

        long call(long value) throws IOException {
            buf.clear();
            buf.putLong(value);
            out.write(buf.array(), 0, 8);
            out.flush();
            in.readFully(buf.array(), 0, 8);
            buf.rewind();
            return buf.getLong();
        }
    }

    private static long processCpuNanos() {
        var os = ManagementFactory.getOperatingSystemMXBean();
        if (os instanceof com.sun.management.OperatingSystemMXBean sun) {
            return sun.getProcessCpuTime();
        }
        return -1;
    }

    /** One Parallel Consumer instance reading {@code count} records of {@code topic} with a fresh group. */
    private static final class Phase {
        final long count;
        final long started = System.nanoTime();
        final ParallelStreamProcessor<String, String> pc;
        final AtomicLong handled = new AtomicLong();
        final AtomicLong violations = new AtomicLong();
        final LongAdder checksum = new LongAdder();
        final LongAdder ioNanos = new LongAdder();
        final AtomicLong firstNanos = new AtomicLong(Long.MIN_VALUE);
        final AtomicLong firstCpu = new AtomicLong(-1);
        final AtomicLong firstUnixMs = new AtomicLong(0);
        final AtomicLong lastNanos = new AtomicLong();
        final AtomicLong lastCpu = new AtomicLong(-1);
        final AtomicReference<Throwable> failure = new AtomicReference<>();
        /** Per key: {next expected sequence number, its calls' round trips summed (ns)}. */
        final ConcurrentHashMap<String, long[]> keys = new ConcurrentHashMap<>();
        final CountDownLatch done = new CountDownLatch(1);

        Phase(Args a, String topic, String group, long count) {
            this.count = count;
            Properties p = new Properties();
            p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, a.bootstrap);
            p.put(ConsumerConfig.GROUP_ID_CONFIG, group);
            p.put(ConsumerConfig.CLIENT_ID_CONFIG, "consume-bench-parallel-consumer");
            p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
            // Parallel Consumer commits itself and refuses a consumer that auto-commits.
            p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
            p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
            p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
            KafkaConsumer<String, String> consumer = new KafkaConsumer<>(p);
            ParallelConsumerOptions<String, String> options = ParallelConsumerOptions.<String, String>builder()
                    .ordering(ProcessingOrder.KEY)
                    .maxConcurrency(a.concurrency)
                    .consumer(consumer)
                    .build();
            pc = ParallelStreamProcessor.createEosStreamProcessor(options);
            String host = a.echoHost;
            int port = a.echoPort;
            // A blocking connection per worker thread, opened on its first record.
            ThreadLocal<Echo> echo = ThreadLocal.withInitial(() -> {
                try {
                    return new Echo(host, port);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
            pc.subscribe(List.of(topic));
            pc.poll(ctx -> handle(ctx.getSingleConsumerRecord(), echo));
        }

        private void handle(ConsumerRecord<String, String> rec, ThreadLocal<Echo> echo) {
            if (done.getCount() == 0) {
                return;
            }
            if (firstNanos.compareAndSet(Long.MIN_VALUE, System.nanoTime())) {
                firstCpu.set(processCpuNanos());
                firstUnixMs.set(System.currentTimeMillis());
            }
            long seq;
            try {
                seq = Long.parseLong(rec.value());
            } catch (RuntimeException e) {
                seq = -1;
            }
            long io;
            try {
                Echo conn = echo.get();
                long sent = System.nanoTime();
                long echoed = conn.call(seq);
                io = System.nanoTime() - sent;
                ioNanos.add(io);
                if (echoed != seq) {
                    throw new IOException("the echo stub answered " + echoed + " to " + seq);
                }
                checksum.add(echoed);
            } catch (IOException | UncheckedIOException e) {
                // Not thrown to Parallel Consumer: it would retry the record and count it twice.
                failure.compareAndSet(null, e);
                done.countDown();
                return;
            }
            long s = seq;
            long took = io;
            keys.compute(rec.key() == null ? "" : rec.key(), (k, state) -> {
                long[] st = state == null ? new long[2] : state;
                if (s != st[0]) {
                    violations.incrementAndGet();
                }
                st[0] = s >= 0 ? s + 1 : st[0] + 1;
                st[1] += took;
                return st;
            });
            if (handled.incrementAndGet() == count) {
                lastNanos.set(System.nanoTime());
                lastCpu.set(processCpuNanos());
                done.countDown();
            }
        }

        /** Waits until every record was handled; exits the process (status 1) on failure or time-out. */
        void await(String topic, long timeoutMs) throws InterruptedException {
            boolean finished = done.await(timeoutMs, TimeUnit.MILLISECONDS);
            Throwable failed = failure.get();
            if (failed != null || !finished) {
                System.err.println("KeyOrderedPeer: "
                        + (failed != null
                                ? "echo round trip failed: " + failed
                                : "handled " + handled.get() + " of " + count + " records from '" + topic
                                        + "' within " + timeoutMs + " ms"));
                System.err.flush();
                Runtime.getRuntime().halt(1);
            }
        }

        /** Closes without draining, waiting at most {@code ms}. */
        void close(long ms) throws InterruptedException {
            Thread closer = new Thread(() -> pc.closeDontDrainFirst(Duration.ofMillis(ms)), "close");
            closer.setDaemon(true);
            closer.start();
            closer.join(ms + 1_000);
        }
    }

    public static void main(String[] argv) throws Exception {
        Args a;
        try {
            a = parse(argv);
        } catch (RuntimeException e) {
            System.err.println("KeyOrderedPeer: " + e.getMessage());
            System.exit(2);
            return;
        }
        if (a.warmupTopic != null && a.warmupCount > 0) {
            // The JIT's warm-up, untimed: the same code paths on another topic, another group.
            Phase w = new Phase(a, a.warmupTopic, a.group + "-warmup", a.warmupCount);
            w.await(a.warmupTopic, a.timeoutMs);
            long closing = System.nanoTime();
            w.close(5_000);
            System.err.printf(java.util.Locale.ROOT,
                    "parallel-consumer-peer: warm-up: first call %.2f s after start, %d records in %.2f s, closed in %.2f s%n",
                    (w.firstNanos.get() - w.started) / 1e9, a.warmupCount, (w.lastNanos.get() - w.firstNanos.get()) / 1e9,
                    (System.nanoTime() - closing) / 1e9);
        }
        Phase t = new Phase(a, a.topic, a.group, a.count);
        t.await(a.topic, a.timeoutMs);
        long first = t.firstNanos.get();
        double cpuS = t.firstCpu.get() >= 0 && t.lastCpu.get() >= 0
                ? (t.lastCpu.get() - t.firstCpu.get()) / 1e9
                : 0.0;
        String line = String.format(java.util.Locale.ROOT,
                "{\"count\":%d,\"timed\":%d,\"elapsed_s\":%.9f,\"checksum\":%d,\"join_s\":%.6f,\"cpu_s\":%.6f,"
                        + "\"first_unix_ms\":%d,\"violations\":%d,\"io_s\":%.6f,\"key_io_s\":%.6f}",
                a.count, a.count, (t.lastNanos.get() - first) / 1e9, t.checksum.sum(), (first - t.started) / 1e9,
                cpuS, t.firstUnixMs.get(), t.violations.get(), t.ioNanos.sum() / 1e9,
                t.keys.values().stream().mapToLong(st -> st[1]).max().orElse(0) / 1e9);
        System.out.println(line);
        System.out.flush();
        // Leaving the group is not timed and the group is never used again: give the close half a second (it
        // commits and leaves the group in the usual case), then stop, so a slow close does not hold the benchmark up.
        t.close(500);
        Runtime.getRuntime().halt(0);
    }
}
