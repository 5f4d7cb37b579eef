// The Java side of the scaling run's memory comparison (bench/src/scaling.rs): N
// KafkaConsumers in one JVM, each in its own thread and its own group (the way N listeners
// run with the plain Java client), each reading the whole topic. Prints "done" once every
// consumer has read `records` records, keeps polling (as a service would) until stdin
// closes, then closes the consumers. The harness reads the JVM's RSS and threads from
// /proc/<pid>/status after "done".
//
//   java -cp <kafka libs>/*:<dir> ManyConsumers <bootstrap> <topic> <group-prefix> <n> <records>

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

public final class ManyConsumers {
    public static void main(String[] args) throws Exception {
        if (args.length != 5) {
            System.err.println("usage: ManyConsumers <bootstrap> <topic> <group-prefix> <n> <records>");
            System.exit(2);
        }
        String bootstrap = args[0], topic = args[1], prefix = args[2];
        int n = Integer.parseInt(args[3]);
        long records = Long.parseLong(args[4]);
        AtomicBoolean stop = new AtomicBoolean(false);
        CountDownLatch read = new CountDownLatch(n);
        List<Thread> threads = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            Properties p = new Properties();
            p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
            p.put(ConsumerConfig.GROUP_ID_CONFIG, String.format("%s-%02d", prefix, i));
            p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
            p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
            p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
            Thread t = new Thread(() -> {
                try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(p)) {
                    c.subscribe(List.of(topic));
                    long seen = 0;
                    boolean counted = false;
                    while (!stop.get()) {
                        ConsumerRecords<byte[], byte[]> batch = c.poll(Duration.ofMillis(100));
                        seen += batch.count();
                        if (!counted && seen >= records) {
                            counted = true;
                            read.countDown();
                        }
                    }
                }
            }, "consumer-" + i);
            t.start();
            threads.add(t);
        }
        read.await();
        System.out.println("done");
        System.out.flush();
        while (System.in.read() != -1) {
            // The harness closes stdin to stop.
        }
        stop.set(true);
        for (Thread t : threads) {
            t.join(10_000);
        }
    }
}
