// Command franz-peer is a peer of consume-bench (bench/): a franz-go (kgo) consumer reading the
// benchmark topic the way a franz-go user writes one, a PollFetches loop over the fetched
// partitions on one goroutine.
//
//   - no-op (no --registry): sums the payload lengths;
//   - Avro (--registry URL): decodes every Confluent-framed value into LectureProgress with
//     hamba/avro (writer schema fetched once per id from the registry), sums watched_seconds.
//
// consume-bench starts it as a child process with a fresh group and reads the one JSON line it
// prints on stdout (see usage). Logs go to stderr.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

const usage = `franz-peer: a consume-bench peer. Reads <count> records of <topic> from the beginning with a
fresh consumer group through franz-go (kgo, PollFetches), then prints one JSON line and exits.

USAGE: franz-peer --brokers <HOST:PORT> --topic <T> --group <G> --count <N> [FLAGS]

FLAGS:
  --brokers <HOST:PORT[,..]>  Kafka's bootstrap servers (default $KAFKA_BOOTSTRAP, else
                              127.0.0.1:9092)
  --topic <T>                 topic to read from its beginning
  --group <G>                 consumer group id (use a fresh one; offsets are never committed)
  --count <N>                 records to read; the peer exits once it has handled this many
  --timeout-ms <MS>           give up (exit 1) after MS without a record (default 120000)
  --registry <URL>            decode every value as Confluent-framed Avro LectureProgress with
                              hamba/avro, writer schemas from this Confluent-compatible registry
                              (default: no-op, sum of payload lengths)
  --property <KEY=VALUE>      consumer property (repeatable). Mapped to kgo options:
                              fetch.wait.max.ms / fetch.max.wait.ms, fetch.min.bytes,
                              fetch.max.bytes, max.partition.fetch.bytes, client.id. librdkafka's
                              queue settings (fetch.queue.backoff.ms, queued.*) have no kgo
                              counterpart and are ignored silently; other keys with a warning.
  -h, --help                  this text

ENVIRONMENT:
  FRANZ_PEER_LOG              kgo's log level on stderr: error, warn (default), info, debug

STDOUT: one JSON line once <N> records were handled:
  {"count":N,"timed":N-1,"elapsed_s":..,"checksum":..,"join_s":..,"cpu_s":..,"first_unix_ms":..}
  The clock starts at the first record handled and stops at the N-th; join_s is the time from
  the start of the program to the first record; cpu_s the process CPU time (user + system)
  over the same interval as elapsed_s; first_unix_ms the wall-clock time of the first record.
  checksum is the sum of payload lengths (no-op) or of decoded watched_seconds (Avro).`

// properties collects repeated --property flags.
type properties [][2]string

func (p *properties) String() string { return fmt.Sprint(*p) }

func (p *properties) Set(kv string) error {
	k, v, ok := strings.Cut(kv, "=")
	if !ok || k == "" {
		return fmt.Errorf("expected KEY=VALUE, got %q", kv)
	}
	*p = append(*p, [2]string{k, v})
	return nil
}

type settings struct {
	brokers  []string
	topic    string
	group    string
	count    uint64
	timeout  time.Duration
	registry string
	opts     []kgo.Opt
}

// errHelp: --help was asked for.
var errHelp = errors.New("help")

func parseArgs(args []string) (*settings, error) {
	fs := flag.NewFlagSet("franz-peer", flag.ContinueOnError)
	fs.SetOutput(new(strings.Builder)) // errors are reported by main, with the usage
	brokers := fs.String("brokers", "", "")
	topic := fs.String("topic", "", "")
	group := fs.String("group", "", "")
	count := fs.Uint64("count", 0, "")
	timeoutMs := fs.Uint64("timeout-ms", 120_000, "")
	registry := fs.String("registry", "", "")
	var props properties
	fs.Var(&props, "property", "")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, errHelp
		}
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	s := &settings{
		topic:    *topic,
		group:    *group,
		count:    *count,
		timeout:  time.Duration(*timeoutMs) * time.Millisecond,
		registry: strings.TrimRight(*registry, "/"),
	}
	b := *brokers
	if b == "" {
		b = strings.TrimSpace(os.Getenv("KAFKA_BOOTSTRAP"))
	}
	if b == "" {
		b = "127.0.0.1:9092"
	}
	for _, h := range strings.Split(b, ",") {
		if h = strings.TrimSpace(h); h != "" {
			s.brokers = append(s.brokers, h)
		}
	}
	switch {
	case s.topic == "":
		return nil, errors.New("--topic is required")
	case s.group == "":
		return nil, errors.New("--group is required")
	case s.count == 0:
		return nil, errors.New("--count must be at least 1")
	case s.timeout <= 0:
		return nil, errors.New("--timeout-ms must be at least 1")
	}
	for _, kv := range props {
		opt, err := property(kv[0], kv[1])
		if err != nil {
			return nil, err
		}
		if opt != nil {
			s.opts = append(s.opts, opt)
		}
	}
	return s, nil
}

// property maps one client property to a kgo option (nil: ignored).
func property(k, v string) (kgo.Opt, error) {
	i32 := func() (int32, error) {
		n, err := strconv.ParseInt(v, 10, 32)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("--property %s=%s: expected a non-negative integer", k, v)
		}
		return int32(n), nil
	}
	switch k {
	case "fetch.wait.max.ms", "fetch.max.wait.ms":
		n, err := i32()
		return kgo.FetchMaxWait(time.Duration(n) * time.Millisecond), err
	case "fetch.min.bytes":
		n, err := i32()
		return kgo.FetchMinBytes(n), err
	case "fetch.max.bytes":
		n, err := i32()
		return kgo.FetchMaxBytes(n), err
	case "max.partition.fetch.bytes":
		n, err := i32()
		return kgo.FetchMaxPartitionBytes(n), err
	case "client.id":
		return kgo.ClientID(v), nil
	case "fetch.queue.backoff.ms", "queued.min.messages", "queued.max.messages.kbytes":
		return nil, nil // librdkafka's local queue: nothing like it in kgo
	default:
		fmt.Fprintf(os.Stderr, "franz-peer: warning: ignoring --property %s=%s (no kgo counterpart)\n", k, v)
		return nil, nil
	}
}

func logLevel() kgo.LogLevel {
	switch strings.ToLower(os.Getenv("FRANZ_PEER_LOG")) {
	case "error":
		return kgo.LogLevelError
	case "info":
		return kgo.LogLevelInfo
	case "debug":
		return kgo.LogLevelDebug
	default:
		return kgo.LogLevelWarn
	}
}

// cpuNow is the process's CPU time so far (user + system).
func cpuNow() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

type report struct {
	Count       uint64  `json:"count"`
	Timed       uint64  `json:"timed"`
	ElapsedS    float64 `json:"elapsed_s"`
	Checksum    uint64  `json:"checksum"`
	JoinS       float64 `json:"join_s"`
	CPUS        float64 `json:"cpu_s"`
	FirstUnixMs int64   `json:"first_unix_ms"`
}

func main() {
	started := time.Now()
	s, err := parseArgs(os.Args[1:])
	if errors.Is(err, errHelp) {
		fmt.Println(usage)
		return
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "franz-peer: %v\n\n%s\n", err, usage)
		os.Exit(2)
	}
	if err := run(s, started); err != nil {
		fmt.Fprintf(os.Stderr, "franz-peer: %v\n", err)
		os.Exit(1)
	}
}

func run(s *settings, started time.Time) error {
	// The handler of one record's value: adds its share to the checksum.
	var handle func([]byte) (uint64, error)
	if s.registry == "" {
		handle = func(v []byte) (uint64, error) { return uint64(len(v)), nil }
	} else {
		d := newAvroDecoder(s.registry)
		handle = d.watchedSeconds
	}

	opts := append([]kgo.Opt{
		kgo.SeedBrokers(s.brokers...),
		kgo.ClientID("consume-bench-franz"),
		kgo.ConsumerGroup(s.group),
		kgo.ConsumeTopics(s.topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.DisableAutoCommit(),
		kgo.WithLogger(kgo.BasicLogger(os.Stderr, logLevel(), func() string { return "franz-peer: " })),
	}, s.opts...)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return fmt.Errorf("creating the kgo client: %w", err)
	}
	defer func() {
		// Leaving the group is not timed; a slow leave must not hold the benchmark up.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := cl.LeaveGroupContext(ctx); err != nil {
			fmt.Fprintf(os.Stderr, "franz-peer: warning: leaving the group: %v\n", err)
		}
		cl.Close()
	}()

	var (
		handled, checksum uint64
		first, last       time.Time
		cpuFirst, cpuLast time.Duration
		failure           error
		lastProgress      = started
	)
	for handled < s.count && failure == nil {
		ctx, cancel := context.WithDeadline(context.Background(), lastProgress.Add(s.timeout))
		fetches := cl.PollFetches(ctx)
		cancel()
		if fetches.IsClientClosed() {
			return errors.New("the client was closed")
		}
		fetches.EachError(func(topic string, p int32, err error) {
			if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
				return
			}
			fmt.Fprintf(os.Stderr, "franz-peer: fetch error on %s[%d]: %v\n", topic, p, err)
		})
		before := handled
		fetches.EachPartition(func(p kgo.FetchTopicPartition) {
			for _, r := range p.Records {
				if handled == s.count || failure != nil {
					return
				}
				if handled == 0 {
					first = time.Now()
					cpuFirst = cpuNow()
				}
				n, err := handle(r.Value)
				if err != nil {
					failure = fmt.Errorf("%s[%d] offset %d: %w", p.Topic, p.Partition, r.Offset, err)
					return
				}
				checksum += n
				handled++
				if handled == s.count {
					last = time.Now()
					cpuLast = cpuNow()
				}
			}
		})
		now := time.Now()
		if handled > before {
			lastProgress = now
		} else if now.Sub(lastProgress) >= s.timeout {
			return fmt.Errorf("handled %d of %d records from %q: no record for %d ms",
				handled, s.count, s.topic, s.timeout.Milliseconds())
		}
	}
	if failure != nil {
		return failure
	}

	line, err := json.Marshal(report{
		Count:       handled,
		Timed:       handled - 1,
		ElapsedS:    last.Sub(first).Seconds(),
		Checksum:    checksum,
		JoinS:       first.Sub(started).Seconds(),
		CPUS:        (cpuLast - cpuFirst).Seconds(),
		FirstUnixMs: first.UnixMilli(),
	})
	if err != nil {
		return err
	}
	fmt.Println(string(line))
	return nil
}
