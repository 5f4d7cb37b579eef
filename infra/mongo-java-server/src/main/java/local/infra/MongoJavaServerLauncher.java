package local.infra;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import org.h2.mvstore.MVMap;
import org.h2.mvstore.MVStore;

import de.bwaldvogel.mongo.MongoCollection;
import de.bwaldvogel.mongo.MongoDatabase;
import de.bwaldvogel.mongo.MongoServer;
import de.bwaldvogel.mongo.MongoVersion;
import de.bwaldvogel.mongo.backend.AbstractMongoBackend;
import de.bwaldvogel.mongo.backend.CollectionOptions;
import de.bwaldvogel.mongo.backend.CursorRegistry;
import de.bwaldvogel.mongo.backend.Index;
import de.bwaldvogel.mongo.backend.QueryResult;
import de.bwaldvogel.mongo.backend.h2.H2Backend;
import de.bwaldvogel.mongo.backend.h2.H2Collection;
import de.bwaldvogel.mongo.backend.h2.H2Database;
import de.bwaldvogel.mongo.backend.memory.MemoryBackend;
import de.bwaldvogel.mongo.backend.memory.MemoryCollection;
import de.bwaldvogel.mongo.backend.memory.MemoryDatabase;
import de.bwaldvogel.mongo.bson.Document;
import de.bwaldvogel.mongo.oplog.CollectionBackedOplog;
import de.bwaldvogel.mongo.oplog.Oplog;

/**
 * Starts mongo-java-server (a MongoDB wire-protocol server in Java) for the project's tests:
 *
 * <pre>
 *   java -cp 'target/libs/*:target/mongo-java-server-launcher.jar' local.infra.MongoJavaServerLauncher \
 *        --listen 127.0.0.1:27018 --file DATA.mv.db [--cache-mb 256] [--oplog-retention-minutes 60]
 *   ... --memory     (the in-memory backend instead of H2: nothing survives a restart)
 * </pre>
 *
 * <p>What it changes from the library's defaults:
 * <ul>
 *   <li>The version it reports: mongo-java-server 1.47 answers the handshake with
 *       {@code maxWireVersion: 8} (MongoDB 4.2) even as {@code ServerVersion.MONGO_5_0}; the Rust
 *       {@code mongodb} 3.x driver needs at least 9 (MongoDB 4.4) and refuses to talk to it. It
 *       reports MongoDB 4.4.0, wire version 9: the oldest server the driver accepts, so the driver
 *       assumes the fewest server features.</li>
 *   <li>One query-planning rule: a filter with an {@code _id} equality (or {@code $in}) and other
 *       fields, such as the store's version guard {@code {_id, v}}, finds its candidates through
 *       the {@code _id} index, as MongoDB does. The library uses an index only when the filter
 *       has exactly the index's fields, so it scanned the whole collection for every such
 *       update: O(documents) per statement (83 events/s on H2 in the store's test with 2 000
 *       learners; 228 with this rule, about 1 450 with the cache and oplog changes below).
 *       Semantics are unchanged: the candidates are a superset, and each is matched against the
 *       whole filter.</li>
 *   <li>The oplog is on, so change streams work. The library keeps it in a collection of the
 *       backend ({@code local.oplog.rs}, in H2 too) and never trims it. The launcher keeps it in
 *       memory (with H2 it cost as much as the data: every update's statement is logged, and
 *       H2 rewrites and serializes every page an entry lands in), so a change stream does not
 *       resume across a restart of this test server, and deletes entries older than the
 *       retention every minute.</li>
 * </ul>
 *
 * <p>SIGTERM closes the listener and the H2 store (a final commit). H2 commits in the background
 * about once a second, so a SIGKILL loses at most the last second or so of writes.
 */
public final class MongoJavaServerLauncher {

    private static final Logger log = LoggerFactory.getLogger(MongoJavaServerLauncher.class);

    /** MongoDB 4.4.0, wire version 9 (see the class documentation). */
    static final MongoVersion REPORTED_VERSION = new MongoVersion() {
        @Override
        public List<Integer> getVersionArray() {
            return List.of(4, 4, 0);
        }

        @Override
        public int getWireVersion() {
            return 9;
        }
    };

    private MongoJavaServerLauncher() {
    }

    public static void main(String[] args) {
        String listen = null;
        String file = null;
        boolean memory = false;
        long retentionMinutes = 60;
        int cacheMb = 256;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--listen" -> listen = value(args, ++i);
                case "--file" -> file = value(args, ++i);
                case "--memory" -> memory = true;
                case "--oplog-retention-minutes" -> retentionMinutes = Long.parseLong(value(args, ++i));
                case "--cache-mb" -> cacheMb = Integer.parseInt(value(args, ++i));
                default -> usage("unknown argument " + args[i]);
            }
        }
        if (listen == null || listen.lastIndexOf(':') < 0) {
            usage("--listen HOST:PORT is required");
        }
        if (memory == (file != null)) {
            usage("give exactly one of --file PATH and --memory");
        }
        String host = listen.substring(0, listen.lastIndexOf(':'));
        int port = Integer.parseInt(listen.substring(listen.lastIndexOf(':') + 1));

        AbstractMongoBackend backend = memory ? new IdPlannedMemoryBackend() : new IdPlannedH2Backend(file, cacheMb);
        backend.version(REPORTED_VERSION);
        backend.dropDatabase("local"); // an oplog kept there by an earlier launcher
        MemoryOplog oplog = new MemoryOplog();
        ((OplogSource) backend).useOplog(oplog);
        backend.enableOplog();

        MongoServer server = new MongoServer(backend);
        try {
            server.bind(host, port);
        } catch (RuntimeException e) {
            log.error("cannot listen on {}: {}", listen, e.toString());
            backend.close();
            System.exit(1);
        }

        Duration retention = Duration.ofMinutes(retentionMinutes);
        ScheduledExecutorService trimmer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "oplog-trimmer");
            t.setDaemon(true);
            return t;
        });
        trimmer.scheduleWithFixedDelay(() -> oplog.trim(retention), 1, 1, TimeUnit.MINUTES);

        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            log.info("stopping");
            trimmer.shutdownNow();
            server.shutdownNow(); // closes the backend: H2 commits and closes its file
            log.info("stopped");
        }, "shutdown"));

        log.info("mongo-java-server listening on {} ({} backend{}, reports MongoDB {} / wire version {}, oplog on, kept {} min)",
            listen, memory ? "in-memory" : "H2", memory ? "" : " in " + file,
            REPORTED_VERSION.toVersionString(), REPORTED_VERSION.getWireVersion(), retentionMinutes);
    }

    private static String value(String[] args, int i) {
        if (i >= args.length) {
            usage(args[i - 1] + " needs a value");
        }
        return args[i];
    }

    private static void usage(String problem) {
        System.err.println("error: " + problem);
        System.err.println("usage: MongoJavaServerLauncher --listen HOST:PORT (--file PATH [--cache-mb N] | --memory) [--oplog-retention-minutes N]");
        System.exit(2);
    }

    /**
     * Where the {@code _id} index can answer part of {@code query} though the whole query has
     * more fields than {@code _id}: the positions of the candidates; {@code null} otherwise (the
     * library plans the query as it does).
     */
    static <P> Iterable<P> idCandidates(MongoCollection<P> collection, Document query) {
        if (query.size() < 2 || !query.containsKey("_id")) {
            return null;
        }
        Document idOnly = new Document("_id", query.get("_id"));
        for (Index<P> index : collection.getIndexes()) {
            if (index.canHandle(idOnly)) {
                return index.getPositions(idOnly);
            }
        }
        return null;
    }

    /** The oplog's collection, in memory whatever the backend. */
    static final class MemoryOplog {
        private final MongoCollection<Document> collection;

        @SuppressWarnings("unchecked")
        MemoryOplog() {
            MemoryDatabase local = new MemoryDatabase("local", new CursorRegistry());
            collection = (MongoCollection<Document>) local.createCollectionOrThrowIfExists("oplog.rs");
        }

        Oplog oplogFor(AbstractMongoBackend backend, CursorRegistry cursors) {
            return new CollectionBackedOplog(backend, collection, cursors);
        }

        void trim(Duration retention) {
            try {
                Instant before = Instant.now().minus(retention);
                int n = collection.deleteDocuments(new Document("wall", new Document("$lt", before)), 0);
                if (n > 0) {
                    log.info("trimmed {} oplog entries older than {}", n, before);
                }
            } catch (RuntimeException e) {
                log.warn("trimming the oplog failed", e);
            }
        }
    }

    /** A backend whose oplog lives in a {@link MemoryOplog}. */
    interface OplogSource {
        void useOplog(MemoryOplog oplog);
    }

    /** The H2 backend with {@link #idCandidates}. Stores data exactly as {@link H2Backend}. */
    static final class IdPlannedH2Backend extends H2Backend implements OplogSource {
        private MemoryOplog memoryOplog;

        @Override
        public void useOplog(MemoryOplog oplog) {
            memoryOplog = oplog;
        }

        @Override
        protected Oplog createOplog() {
            return memoryOplog.oplogFor(this, getCursorRegistry());
        }

        /**
         * H2's page cache holds documents deserialized; {@code MVStore.open} gives it 16 MB, and a
         * page that falls out is read back with Java serialization on the next scan or update.
         */
        IdPlannedH2Backend(String fileName, int cacheMb) {
            super(new MVStore.Builder().fileName(fileName).cacheSize(cacheMb).open());
        }

        @Override
        protected MongoDatabase openOrCreateDatabase(String databaseName) {
            return new Database(databaseName);
        }

        final class Database extends H2Database {
            Database(String databaseName) {
                super(databaseName, getMvStore(), getCursorRegistry());
            }

            @Override
            protected MongoCollection<Object> openOrCreateCollection(String collectionName, CollectionOptions options) {
                // The same map names as H2Database, so that files stay compatible both ways.
                String fullName = getFullCollectionNamespace(collectionName);
                MVMap<Object, Document> dataMap = getMvStore().openMap("databases." + fullName);
                MVMap<String, Object> metaMap = getMvStore().openMap("meta." + fullName);
                return new H2Collection(this, collectionName, options, dataMap, metaMap, cursorRegistry) {
                    @Override
                    protected QueryResult queryDocuments(Document query, Document orderBy, int numberToSkip, int limit,
                                                         int batchSize, Document fieldSelector) {
                        Iterable<Object> candidates = idCandidates(this, query);
                        if (candidates == null) {
                            return super.queryDocuments(query, orderBy, numberToSkip, limit, batchSize, fieldSelector);
                        }
                        return matchDocuments(query, candidates, orderBy, numberToSkip, limit, batchSize, fieldSelector);
                    }
                };
            }
        }
    }

    /** The in-memory backend with {@link #idCandidates}. */
    static final class IdPlannedMemoryBackend extends MemoryBackend implements OplogSource {
        private MemoryOplog memoryOplog;

        @Override
        public void useOplog(MemoryOplog oplog) {
            memoryOplog = oplog;
        }

        @Override
        protected Oplog createOplog() {
            return memoryOplog.oplogFor(this, getCursorRegistry());
        }

        @Override
        public MemoryDatabase openOrCreateDatabase(String databaseName) {
            return new MemoryDatabase(databaseName, getCursorRegistry()) {
                @Override
                protected MemoryCollection openOrCreateCollection(String collectionName, CollectionOptions options) {
                    return new MemoryCollection(this, collectionName, options, cursorRegistry) {
                        @Override
                        protected QueryResult queryDocuments(Document query, Document orderBy, int numberToSkip, int limit,
                                                             int batchSize, Document fieldSelector) {
                            Iterable<Integer> candidates = idCandidates(this, query);
                            if (candidates == null) {
                                return super.queryDocuments(query, orderBy, numberToSkip, limit, batchSize, fieldSelector);
                            }
                            return matchDocuments(query, candidates, orderBy, numberToSkip, limit, batchSize, fieldSelector);
                        }
                    };
                }
            };
        }
    }
}
