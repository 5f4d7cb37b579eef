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
 * kept for the run). Reads {@code <count>} records from the beginning of {@code <topic>} with a fresh group.
 *
 * <pre>
 * usage: java -cp ... local.bench.KeyOrderedPeer --bootstrap 127.0.0.1:9092 --topic t --group g --count n
 *          --concurrency c --echo 127.0.0.1:port [--timeout-ms 120000]
 * </pre>
 *
 * <p>stdout: one JSON line at the end, {"count","timed","elapsed_s","checksum","join_s","cpu_s","first_unix_ms",
 * "violations","io_s"}: the clock runs from the first call's start to the {@code <count>}-th call's end (all {@code count}
 * records are inside it, so {@code timed = count}); {@code join_s} from the start of {@code main} to the first call;
 * {@code cpu_s} is the process's CPU time (every thread) over the same span; {@code checksum} sums the echoed values
 * (each record's sequence number within its key, its value); {@code violations} counts records whose sequence number
 * is not one more than the previous one of the same key; {@code io_s} sums the round trips' durations.
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

    public static void main(String[] argv) throws Exception {
        long mainStart = System.nanoTime();
        Args a;
        try {
            a = parse(argv);
        } catch (RuntimeException e) {
            System.err.println("KeyOrderedPeer: " + e.getMessage());
            System.exit(2);
            return;
        }

        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, a.bootstrap);
        p.put(ConsumerConfig.GROUP_ID_CONFIG, a.group);
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
        ParallelStreamProcessor<String, String> pc = ParallelStreamProcessor.createEosStreamProcessor(options);

        AtomicLong handled = new AtomicLong();
        AtomicLong violations = new AtomicLong();
        LongAdder checksum = new LongAdder();
        LongAdder ioNanos = new LongAdder();
        AtomicLong firstNanos = new AtomicLong(Long.MIN_VALUE);
        AtomicLong firstCpu = new AtomicLong(-1);
        AtomicLong firstUnixMs = new AtomicLong(0);
        AtomicLong lastNanos = new AtomicLong();
        AtomicLong lastCpu = new AtomicLong(-1);
        AtomicReference<Throwable> failure = new AtomicReference<>();
        ConcurrentHashMap<String, Long> next = new ConcurrentHashMap<>();
        CountDownLatch done = new CountDownLatch(1);
        String host = a.echoHost;
        int port = a.echoPort;
        ThreadLocal<Echo> echo = ThreadLocal.withInitial(() -> {
            try {
                return new Echo(host, port);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });

        pc.subscribe(List.of(a.topic));
        pc.poll(ctx -> {
            if (done.getCount() == 0) {
                return;
            }
            long now = System.nanoTime();
            if (firstNanos.compareAndSet(Long.MIN_VALUE, now)) {
                firstCpu.set(processCpuNanos());
                firstUnixMs.set(System.currentTimeMillis());
            }
            ConsumerRecord<String, String> rec = ctx.getSingleConsumerRecord();
            long seq;
            try {
                seq = Long.parseLong(rec.value());
            } catch (RuntimeException e) {
                seq = -1;
            }
            try {
                Echo conn = echo.get();
                long sent = System.nanoTime();
                long echoed = conn.call(seq);
                ioNanos.add(System.nanoTime() - sent);
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
            next.compute(rec.key() == null ? "" : rec.key(), (k, expected) -> {
                long e = expected == null ? 0 : expected;
                if (s != e) {
                    violations.incrementAndGet();
                }
                return s >= 0 ? s + 1 : e + 1;
            });
            if (handled.incrementAndGet() == a.count) {
                lastNanos.set(System.nanoTime());
                lastCpu.set(processCpuNanos());
                done.countDown();
            }
        });

        boolean finished = done.await(a.timeoutMs, TimeUnit.MILLISECONDS);
        Throwable failed = failure.get();
        if (failed != null || !finished) {
            System.err.println("KeyOrderedPeer: "
                    + (failed != null
                            ? "echo round trip failed: " + failed
                            : "handled " + handled.get() + " of " + a.count + " records from '" + a.topic
                                    + "' within " + a.timeoutMs + " ms"));
            System.err.flush();
            Runtime.getRuntime().halt(1);
        }
        long first = firstNanos.get();
        double cpuS = firstCpu.get() >= 0 && lastCpu.get() >= 0 ? (lastCpu.get() - firstCpu.get()) / 1e9 : 0.0;
        String line = String.format(java.util.Locale.ROOT,
                "{\"count\":%d,\"timed\":%d,\"elapsed_s\":%.9f,\"checksum\":%d,\"join_s\":%.6f,\"cpu_s\":%.6f,"
                        + "\"first_unix_ms\":%d,\"violations\":%d,\"io_s\":%.6f}",
                a.count, a.count, (lastNanos.get() - first) / 1e9, checksum.sum(), (first - mainStart) / 1e9, cpuS,
                firstUnixMs.get(), violations.get(), ioNanos.sum() / 1e9);
        System.out.println(line);
        System.out.flush();
        // Leaving the group is not timed; a slow close must not hold the benchmark up.
        Thread closer = new Thread(() -> pc.closeDontDrainFirst(Duration.ofSeconds(3)), "close");
        closer.setDaemon(true);
        closer.start();
        closer.join(4_000);
        Runtime.getRuntime().halt(0);
    }
}
