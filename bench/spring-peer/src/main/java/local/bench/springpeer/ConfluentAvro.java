package local.bench.springpeer;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericDatumReader;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.io.BinaryDecoder;
import org.apache.avro.io.DecoderFactory;

/**
 * Confluent-framed Avro, decoded with Apache Avro the way a production consumer does it without
 * Confluent's serializer (not on Maven Central): byte 0 is the magic 0, bytes 1..4 the writer
 * schema id (big-endian), the rest the Avro binary body.
 *
 * <p>The writer schema is fetched once per id from the registry's Confluent-compatible API
 * ({@code GET {url}/schemas/ids/{id}}) and cached. Records are read into the application's own
 * reader schema ({@code lecture_progress.avsc} on the classpath, the schema the app was written
 * against) by a {@link GenericDatumReader} per (thread, writer id), which uses Avro's fast reader
 * ({@code org.apache.avro.fastread}, on by default since 1.10: a reader tree built once per
 * writer/reader pair, no ResolvingDecoder per datum). Each consumer thread reuses its
 * {@link BinaryDecoder} and its {@link GenericRecord} (strings land in reused {@code Utf8}
 * buffers), so a steady-state decode allocates nothing.
 */
final class ConfluentAvro {

  /** A bad value or an unreachable registry: ends the run. */
  static final class DecodeException extends Exception {
    private static final long serialVersionUID = 1L;

    DecodeException(String message) {
      super(message);
    }

    DecodeException(String message, Throwable cause) {
      super(message, cause);
    }
  }

  private final String registry;
  private final Schema readerSchema;
  private final int watchedSecondsPos;
  private final HttpClient http = HttpClient.newBuilder()
      .connectTimeout(Duration.ofSeconds(10))
      .build();
  private final ObjectMapper json = new ObjectMapper();
  /** Writer schemas by id, shared by all threads. */
  private final Map<Integer, Schema> writers = new ConcurrentHashMap<>();
  /** Each consumer thread's decoding state. */
  private final ThreadLocal<PerThread> perThread = ThreadLocal.withInitial(PerThread::new);

  ConfluentAvro(String registry) throws DecodeException {
    this.registry = registry;
    try (InputStream in = ConfluentAvro.class.getResourceAsStream("/lecture_progress.avsc")) {
      if (in == null) {
        throw new DecodeException("lecture_progress.avsc is missing from the classpath");
      }
      readerSchema = new Schema.Parser().parse(in);
    } catch (IOException | RuntimeException e) {
      throw new DecodeException("reading lecture_progress.avsc: " + e, e);
    }
    Schema.Field field = readerSchema.getField("watched_seconds");
    if (field == null) {
      throw new DecodeException("lecture_progress.avsc has no watched_seconds field");
    }
    watchedSecondsPos = field.pos();
  }

  /** One consumer thread's reused reader, decoder and record. */
  private final class PerThread {
    final Map<Integer, GenericDatumReader<GenericRecord>> readers = new HashMap<>();
    int lastId = -1;
    GenericDatumReader<GenericRecord> lastReader;
    BinaryDecoder decoder;
    GenericRecord record;

    GenericDatumReader<GenericRecord> reader(int id) throws DecodeException {
      if (id == lastId) {
        return lastReader;
      }
      GenericDatumReader<GenericRecord> r = readers.get(id);
      if (r == null) {
        r = new GenericDatumReader<>(writerSchema(id), readerSchema);
        readers.put(id, r);
      }
      lastId = id;
      lastReader = r;
      return r;
    }
  }

  /** The calling thread's decoder state, to pass to {@link #watchedSeconds} for a whole batch. */
  Object threadState() {
    return perThread.get();
  }

  /** Decodes one framed value and returns its watched_seconds. */
  int watchedSeconds(Object state, byte[] value) throws DecodeException {
    PerThread t = (PerThread) state;
    if (value == null || value.length < 5) {
      throw new DecodeException("a value of " + (value == null ? "null" : value.length + " bytes")
          + " is too short for the Confluent framing (magic byte + 4-byte schema id)");
    }
    if (value[0] != 0) {
      throw new DecodeException("a value starts with byte " + (value[0] & 0xff)
          + ", not the Confluent magic byte 0");
    }
    int id = ((value[1] & 0xff) << 24) | ((value[2] & 0xff) << 16) | ((value[3] & 0xff) << 8)
        | (value[4] & 0xff);
    GenericDatumReader<GenericRecord> reader = t.reader(id);
    t.decoder = DecoderFactory.get().binaryDecoder(value, 5, value.length - 5, t.decoder);
    try {
      t.record = reader.read(t.record, t.decoder);
    } catch (IOException | RuntimeException e) {
      throw new DecodeException("decoding a value with writer schema " + id + ": " + e, e);
    }
    return (Integer) t.record.get(watchedSecondsPos);
  }

  /** The writer schema with this id, from the cache or the registry. */
  private Schema writerSchema(int id) throws DecodeException {
    Schema s = writers.get(id);
    if (s != null) {
      return s;
    }
    s = fetch(id);
    Schema raced = writers.putIfAbsent(id, s);
    return raced != null ? raced : s;
  }

  private Schema fetch(int id) throws DecodeException {
    String url = registry + "/schemas/ids/" + id;
    HttpResponse<String> response;
    try {
      HttpRequest request = HttpRequest.newBuilder(URI.create(url))
          .timeout(Duration.ofSeconds(10))
          .header("Accept", "application/vnd.schemaregistry.v1+json, application/json")
          .GET()
          .build();
      response = http.send(request, HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
    } catch (IOException | IllegalArgumentException e) {
      throw new DecodeException("fetching writer schema " + id + " from " + url + ": " + e, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new DecodeException("interrupted fetching writer schema " + id + " from " + url, e);
    }
    if (response.statusCode() != 200) {
      throw new DecodeException("fetching writer schema " + id + " from " + url + ": HTTP "
          + response.statusCode() + ": " + abbreviate(response.body()));
    }
    try {
      JsonNode body = json.readTree(response.body());
      JsonNode schema = body == null ? null : body.get("schema");
      if (schema == null || !schema.isTextual()) {
        throw new DecodeException("the registry's answer for schema " + id + " has no \"schema\""
            + " string: " + abbreviate(response.body()));
      }
      return new Schema.Parser().parse(schema.asText());
    } catch (IOException | RuntimeException e) {
      throw new DecodeException("parsing writer schema " + id + " from " + url + ": " + e, e);
    }
  }

  private static String abbreviate(String s) {
    return s.length() <= 200 ? s : s.substring(0, 200) + "…";
  }
}
