package local.bench.springpeer;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.apache.kafka.clients.consumer.ConsumerConfig;

/** The command line: what to read, how many, and how. */
final class Settings {

  static final String USAGE = """
      spring-peer: a consume-bench peer. Reads <count> records of <topic> from the beginning with a
      fresh consumer group through one Spring for Apache Kafka batch @KafkaListener (plain Spring,
      no Boot), then prints one JSON line and exits.

      USAGE: java -Xmx512M -XX:+UseG1GC -jar target/spring-peer/spring-peer.jar \\
               --brokers <HOST:PORT> --topic <T> --group <G> --count <N> [FLAGS]

      FLAGS:
        --brokers <HOST:PORT[,..]>  Kafka's bootstrap servers (default $KAFKA_BOOTSTRAP, else
                                    127.0.0.1:9092)
        --topic <T>                 topic to read from its beginning
        --group <G>                 consumer group id (use a fresh one)
        --count <N>                 records to read; the peer exits once it has handled this many
        --timeout-ms <MS>           give up (exit 1) after MS without a record (default 120000)
        --registry <URL>            decode every value as Confluent-framed Avro with Apache Avro
                                    (GenericDatumReader, writer schema by id from this
                                    Confluent-compatible registry, reader schema LectureProgress),
                                    sum watched_seconds (default: no-op, sum of payload lengths)
        --concurrency <N>           the listener's concurrency: consumers (threads) in this
                                    process (default 1, the faster here; see README.md)
        --async-commits             commit each batch's offsets with commitAsync instead of
                                    Spring Kafka's default commitSync (ContainerProperties
                                    syncCommits=false; the AckMode stays BATCH). Not what the
                                    benchmark runs: a what-if for the cost of the default
        --property <KEY=VALUE>      consumer property (repeatable). Java client names pass through;
                                    librdkafka's fetch.wait.max.ms is mapped to fetch.max.wait.ms;
                                    librdkafka-only queue settings (fetch.queue.backoff.ms,
                                    queued.*) have no Java counterpart and are ignored silently;
                                    other unknown keys with a warning.
        -h, --help                  this text

      STDOUT: one JSON line once <N> records were handled:
        {"count":N,"timed":N-1,"elapsed_s":..,"checksum":..,"join_s":..,"cpu_s":..,
         "first_unix_ms":..,"concurrency":..}
        The clock starts at the first record handled and stops at the N-th; join_s is the time
        from the start of main to the first record; cpu_s the process CPU time (user + system,
        all threads) over the same interval as elapsed_s; first_unix_ms the wall-clock time of
        the first record. checksum is the sum of payload lengths (no-op) or of decoded
        watched_seconds (Avro).
      Logs (WARN and above) go to stderr. Exit status: 0 done, 1 failed (timeout, bad framing,
      registry), 2 bad arguments.""";

  /** librdkafka properties with no Java client counterpart: dropped without a word. */
  private static final Set<String> LIBRDKAFKA_ONLY = Set.of(
      "fetch.queue.backoff.ms", "queued.min.messages", "queued.max.messages.kbytes");

  /** librdkafka names whose Java client property has another name. */
  private static final Map<String, String> RENAMED = Map.of("fetch.wait.max.ms", "fetch.max.wait.ms");

  final String brokers;
  final String topic;
  final String group;
  final long count;
  final long timeoutMs;
  /** Confluent-compatible registry base URL, without a trailing slash; null: no-op variant. */
  final String registry;
  final int concurrency;
  /** Commit with commitAsync (Spring Kafka's default is commitSync). */
  final boolean asyncCommits;
  /** Java client consumer properties from --property, in order. */
  final List<String[]> properties;

  private Settings(String brokers, String topic, String group, long count, long timeoutMs,
      String registry, int concurrency, boolean asyncCommits, List<String[]> properties) {
    this.brokers = brokers;
    this.topic = topic;
    this.group = group;
    this.count = count;
    this.timeoutMs = timeoutMs;
    this.registry = registry;
    this.concurrency = concurrency;
    this.asyncCommits = asyncCommits;
    this.properties = Collections.unmodifiableList(properties);
  }

  /** A usage error (exit 2). */
  static final class UsageException extends Exception {
    private static final long serialVersionUID = 1L;

    UsageException(String message) {
      super(message);
    }
  }

  /** Parses the arguments; null means --help. */
  static Settings parse(String[] args) throws UsageException {
    String brokers = System.getenv("KAFKA_BOOTSTRAP");
    if (brokers == null || brokers.isBlank()) {
      brokers = "127.0.0.1:9092";
    }
    String topic = null;
    String group = null;
    Long count = null;
    long timeoutMs = 120_000;
    String registry = null;
    int concurrency = 1;
    boolean asyncCommits = false;
    List<String[]> properties = new ArrayList<>();
    for (int i = 0; i < args.length; i++) {
      String flag = args[i];
      if (flag.equals("-h") || flag.equals("--help")) {
        return null;
      }
      if (flag.equals("--async-commits")) {
        asyncCommits = true;
        continue;
      }
      String value;
      int eq = flag.indexOf('=');
      if (flag.startsWith("--") && eq > 0) {
        value = flag.substring(eq + 1);
        flag = flag.substring(0, eq);
      } else {
        if (i + 1 >= args.length) {
          throw new UsageException(flag + " needs a value");
        }
        value = args[++i];
      }
      switch (flag) {
        case "--brokers" -> brokers = nonEmpty(flag, value);
        case "--topic" -> topic = nonEmpty(flag, value);
        case "--group" -> group = nonEmpty(flag, value);
        case "--count" -> count = positive(flag, value);
        case "--timeout-ms" -> timeoutMs = positive(flag, value);
        case "--registry" -> registry = stripSlashes(nonEmpty(flag, value));
        case "--concurrency" -> {
          long c = positive(flag, value);
          if (c > 256) {
            throw new UsageException("--concurrency must be at most 256, not " + c);
          }
          concurrency = (int) c;
        }
        case "--property" -> {
          int at = value.indexOf('=');
          if (at <= 0) {
            throw new UsageException("--property expects KEY=VALUE, got '" + value + "'");
          }
          String key = value.substring(0, at);
          String v = value.substring(at + 1);
          key = RENAMED.getOrDefault(key, key);
          if (LIBRDKAFKA_ONLY.contains(key)) {
            continue;
          }
          if (!ConsumerConfig.configNames().contains(key)) {
            System.err.println("spring-peer: warning: ignoring --property " + key
                + " (not a Java consumer property)");
            continue;
          }
          properties.add(new String[] {key, v});
        }
        default -> throw new UsageException("unknown flag " + flag);
      }
    }
    if (topic == null) {
      throw new UsageException("--topic is required");
    }
    if (group == null) {
      throw new UsageException("--group is required");
    }
    if (count == null) {
      throw new UsageException("--count is required");
    }
    return new Settings(brokers, topic, group, count, timeoutMs, registry, concurrency,
        asyncCommits, properties);
  }

  private static String nonEmpty(String flag, String value) throws UsageException {
    if (value.isBlank()) {
      throw new UsageException(flag + " must not be empty");
    }
    return value;
  }

  private static long positive(String flag, String value) throws UsageException {
    try {
      long n = Long.parseLong(value);
      if (n > 0) {
        return n;
      }
    } catch (NumberFormatException e) {
      // reported below
    }
    throw new UsageException(flag + " expects a positive integer, not '" + value + "'");
  }

  private static String stripSlashes(String url) {
    String u = url;
    while (u.endsWith("/")) {
      u = u.substring(0, u.length() - 1);
    }
    return u;
  }
}
