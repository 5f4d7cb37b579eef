package local.bench.springpeer;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.springframework.context.annotation.AnnotationConfigApplicationContext;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.kafka.annotation.EnableKafka;
import org.springframework.kafka.annotation.KafkaListener;
import org.springframework.kafka.config.ConcurrentKafkaListenerContainerFactory;
import org.springframework.kafka.core.ConsumerFactory;
import org.springframework.kafka.core.DefaultKafkaConsumerFactory;

/**
 * The Spring for Apache Kafka peer of consume-bench (bench/): the benchmark topic read by one
 * batch {@code @KafkaListener}, configured the way a Spring Kafka user without Boot writes it
 * ({@code @Configuration} + {@code @EnableKafka}, a {@link DefaultKafkaConsumerFactory} and a
 * {@link ConcurrentKafkaListenerContainerFactory}, run by an
 * {@link AnnotationConfigApplicationContext}). Everything else is Spring Kafka's defaults:
 * {@code enable.auto.commit=false} with the container's default AckMode BATCH (the offsets of
 * each poll committed synchronously after the listener returns), 500 records a poll.
 *
 * <ul>
 *   <li>no-op (no {@code --registry}): sums the payload lengths;
 *   <li>Avro ({@code --registry URL}): decodes every Confluent-framed value with Apache Avro
 *       ({@link ConfluentAvro}) and sums watched_seconds.
 * </ul>
 *
 * <p>consume-bench starts it as a child process with a fresh group and reads the one JSON line it
 * prints on stdout ({@link Settings#USAGE}). It exits once it has handled {@code --count}
 * records: it prints the line, then closes the context (the containers stop and the consumers
 * leave the group), untimed.
 */
public final class SpringPeer {

  /** How long closing the context (leaving the group) may take before the peer exits anyway. */
  private static final long CLOSE_TIMEOUT_MS = 10_000;

  private SpringPeer() {}

  // Read by the listener bean; set by main before the context is refreshed.
  static Settings settings;
  static Tally tally;
  static ConfluentAvro avro;

  public static void main(String[] args) {
    long startNanos = System.nanoTime();
    Settings s;
    try {
      s = Settings.parse(args);
    } catch (Settings.UsageException e) {
      System.err.println("spring-peer: " + e.getMessage() + "\n\n" + Settings.USAGE);
      System.exit(2);
      return;
    }
    if (s == null) {
      System.out.println(Settings.USAGE);
      return;
    }
    settings = s;
    tally = new Tally(s.count, startNanos);
    if (s.registry != null) {
      try {
        avro = new ConfluentAvro(s.registry);
      } catch (ConfluentAvro.DecodeException e) {
        die(e.getMessage());
      }
    }

    AnnotationConfigApplicationContext ctx = new AnnotationConfigApplicationContext();
    // The @KafkaListener's ${...} placeholders resolve against the environment.
    Map<String, Object> props = new HashMap<>();
    props.put("bench.topic", s.topic);
    props.put("bench.group", s.group);
    props.put("bench.concurrency", Integer.toString(s.concurrency));
    ctx.getEnvironment().getPropertySources()
        .addFirst(new org.springframework.core.env.MapPropertySource("bench", props));
    ctx.register(BenchConfig.class);
    try {
      ctx.refresh(); // starts the listener container(s)
    } catch (RuntimeException e) {
      die("the Spring context did not start: " + e);
    }

    String failure = waitForEnd(s);
    if (failure != null) {
      System.err.println("spring-peer: " + failure);
      closeWithin(ctx, 2_000);
      System.exit(1);
    }
    System.out.println(tally.report(startNanos, s.concurrency));
    System.out.flush();
    if (!closeWithin(ctx, CLOSE_TIMEOUT_MS)) {
      System.err.println("spring-peer: warning: closing the context took over "
          + CLOSE_TIMEOUT_MS + " ms; exiting anyway");
    }
    System.exit(0);
  }

  /** Waits for the count-th record; returns why not (failure, no progress), or null. */
  private static String waitForEnd(Settings s) {
    long timeoutNanos = s.timeoutMs * 1_000_000L;
    try {
      while (!tally.await(50)) {
        long idle = System.nanoTime() - tally.lastProgressNanos();
        if (idle > timeoutNanos) {
          long n = tally.handledSoFar();
          return "handled " + n + " of " + s.count + " records from '" + s.topic + "': no record"
              + " for " + s.timeoutMs + " ms"
              + (n == 0 ? " (is Kafka up at " + s.brokers + "? does the topic exist?)" : "");
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return "interrupted";
    }
    return tally.failure();
  }

  /** Closes the context on another thread; true if it finished within {@code millis}. */
  private static boolean closeWithin(AnnotationConfigApplicationContext ctx, long millis) {
    Thread closer = new Thread(ctx::close, "spring-peer-close");
    closer.setDaemon(true);
    closer.start();
    try {
      closer.join(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    return !closer.isAlive();
  }

  private static void die(String message) {
    System.err.println("spring-peer: " + message);
    System.exit(1);
  }

  /** The Spring configuration: consumer factory, listener container factory, listener. */
  @Configuration
  @EnableKafka
  public static class BenchConfig {

    @Bean
    public ConsumerFactory<byte[], byte[]> consumerFactory() {
      Map<String, Object> config = new HashMap<>();
      config.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, settings.brokers);
      config.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
      config.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
      config.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
      config.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
      for (String[] kv : settings.properties) {
        config.put(kv[0], kv[1]);
      }
      return new DefaultKafkaConsumerFactory<>(config);
    }

    @Bean
    public ConcurrentKafkaListenerContainerFactory<byte[], byte[]> kafkaListenerContainerFactory(
        ConsumerFactory<byte[], byte[]> consumerFactory) {
      ConcurrentKafkaListenerContainerFactory<byte[], byte[]> factory =
          new ConcurrentKafkaListenerContainerFactory<>();
      factory.setConsumerFactory(consumerFactory);
      if (settings.asyncCommits) {
        factory.getContainerProperties().setSyncCommits(false);
      }
      return factory;
    }

    @Bean
    public BenchListener benchListener() {
      return new BenchListener();
    }
  }

  /** The one listener: a batch of records per poll, per consumer thread. */
  public static class BenchListener {

    @KafkaListener(id = "consume-bench-spring", topics = "${bench.topic}",
        groupId = "${bench.group}", batch = "true", concurrency = "${bench.concurrency}")
    public void onBatch(List<ConsumerRecord<byte[], byte[]>> records) {
      Tally t = tally;
      if (t.over() || records.isEmpty()) {
        return;
      }
      t.start();
      int n = t.reserve(records.size());
      if (n == 0) {
        return;
      }
      long sum = 0;
      if (avro == null) {
        for (int i = 0; i < n; i++) {
          byte[] value = records.get(i).value();
          sum += value == null ? 0 : value.length;
        }
      } else {
        ConfluentAvro a = avro;
        Object state = a.threadState();
        int i = 0;
        try {
          for (; i < n; i++) {
            sum += a.watchedSeconds(state, records.get(i).value());
          }
        } catch (ConfluentAvro.DecodeException e) {
          ConsumerRecord<byte[], byte[]> r = records.get(i);
          t.fail(e.getMessage() + " (" + r.topic() + "/" + r.partition() + " offset " + r.offset()
              + ")");
          return;
        }
      }
      t.handled(n, sum);
    }
  }
}
