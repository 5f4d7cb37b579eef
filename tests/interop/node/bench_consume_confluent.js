#!/usr/bin/env node
'use strict'
// Benchmark peer for consume-bench (bench/, issue 17, variants j1 and j2): Confluent's JavaScript client
// (@confluentinc/kafka-javascript, librdkafka underneath, built from source by ../setup.sh) through its
// KafkaJS-compatible promisified API, the one its docs tell new code to use (INTRODUCTION.md: "If you're starting
// afresh, you should use the promisified API"), consuming with `eachBatch` (batches of up to
// `js.consumer.max.batch.size` records, 32 by default, taken from librdkafka's local queue) and optionally decoding
// every value with @kafkajs/confluent-schema-registry's `registry.decode`, as the kafkajs peer (bench_consume.js)
// does. Reads <count> records from the beginning of <topic> with a fresh group and reports its own count and time.
// usage: node bench_consume_confluent.js --brokers 127.0.0.1:9092 --topic <t> --count <n> --group <g>
//          [--registry <url>]        decode every value with registry.decode
//          [--properties k=v,k=v]    librdkafka consumer properties (the bench passes its fetch tuning)
//          [--api batch|message]     eachBatch (default) or eachMessage
//          [--timeout-ms 120000]     give up when <n> records did not arrive in time (exit 1)
// Everything else is at the client's defaults: autoCommit on (every 5 s, of the offsets of the records handed to
// the callbacks), partitionsConsumedConcurrently 1; `fromBeginning: true` (librdkafka's auto.offset.reset=earliest)
// with a group that has no committed offsets.
// stdout: exactly one JSON line at the end, the bench's common peer line:
//   {"count":n,"timed":n-1,"elapsed_s":..,"join_s":..,"checksum":..,"first_unix_ms":..}
// The clock starts at the first record handled (group join and the first fetch are excluded) and stops at the
// <n>-th. `checksum` sums the payload lengths (no-op) or the decoded `watched_seconds` (decode), so the work cannot
// be skipped.
const { KafkaJS } = require('@confluentinc/kafka-javascript')
const { SchemaRegistry } = require('@kafkajs/confluent-schema-registry')
const { cli, fail } = require('./common')

const SCRIPT = 'bench_consume_confluent.js'

const args = cli(SCRIPT, {
  brokers: { required: true },
  topic: { required: true },
  count: { required: true, integer: true },
  group: { required: true },
  registry: {},
  api: { default: 'batch' },
  properties: {},
  'timeout-ms': { default: '120000', integer: true },
})
if (args.api !== 'batch' && args.api !== 'message') fail(SCRIPT, `--api must be batch or message, got '${args.api}'`)
// librdkafka consumer properties (and the client's own `js.consumer.*` ones), `k=v,k=v`.
const properties = {}
for (const kv of (args.properties || '').split(',').filter(Boolean)) {
  const eq = kv.indexOf('=')
  if (eq <= 0) fail(SCRIPT, `--properties wants k=v[,k=v…], got '${kv}'`)
  properties[kv.slice(0, eq)] = kv.slice(eq + 1)
}

// The client's log lines, ERROR level only, to stderr (its default logger prints INFO lines to stdout).
const stderrLogger = {
  level: KafkaJS.logLevel.ERROR,
  setLogLevel(level) {
    this.level = Math.min(level, KafkaJS.logLevel.ERROR)
  },
  namespace() {
    return this
  },
  write(label, message, extra) {
    process.stderr.write(`confluent-kafka-javascript ${label} ${message} ${extra ? JSON.stringify(extra) : ''}\n`)
  },
  error(message, extra) {
    if (this.level >= KafkaJS.logLevel.ERROR) this.write('ERROR', message, extra)
  },
  warn() {},
  info() {},
  debug() {},
}

async function main() {
  const registry = args.registry ? new SchemaRegistry({ host: args.registry }) : null
  const kafka = new KafkaJS.Kafka({
    kafkaJS: {
      clientId: 'consume-bench-confluent-js',
      brokers: args.brokers.split(','),
      logLevel: KafkaJS.logLevel.ERROR,
      logger: stderrLogger,
    },
  })
  const consumer = kafka.consumer({
    kafkaJS: {
      groupId: args.group,
      fromBeginning: true,
      allowAutoTopicCreation: false,
      logLevel: KafkaJS.logLevel.ERROR,
      logger: stderrLogger,
    },
    ...properties,
  })

  let handled = 0
  let checksum = 0
  let first = null
  let firstUnixMs = 0
  let last = null
  const started = process.hrtime.bigint()
  let finish
  const done = new Promise((resolve, reject) => {
    finish = { resolve, reject }
  })
  done.catch(() => {})
  const timer = setTimeout(
    () => finish.reject(new Error(`handled ${handled} of ${args.count} records from '${args.topic}' within ${args['timeout-ms']} ms`)),
    args['timeout-ms']
  )

  // The clock starts before the first record's work (as in bench_consume.js: the first decode, which fetches the
  // writer schema, is timed); `counted` adds a handled record's value to the checksum and stops at the count.
  let stopped = false
  const clock = () => {
    if (first === null) {
      first = process.hrtime.bigint()
      firstUnixMs = Date.now()
    }
  }
  const counted = value => {
    checksum += value
    handled++
    if (handled === args.count) {
      last = process.hrtime.bigint()
      stopped = true
      finish.resolve()
    }
  }
  const length = message => (message.value ? message.value.length : 0)
  const decode = async (message, partition) => {
    try {
      return (await registry.decode(message.value)).watched_seconds
    } catch (e) {
      stopped = true
      finish.reject(new Error(`decoding partition ${partition} offset ${message.offset}: ${e.message}`))
      return 0
    }
  }

  await consumer.connect()
  try {
    await consumer.subscribe({ topics: [args.topic] })
    await consumer.run(
      args.api === 'batch'
        ? {
            eachBatch: async ({ batch }) => {
              for (const message of batch.messages) {
                if (stopped) return
                clock()
                counted(registry ? await decode(message, batch.partition) : length(message))
              }
            },
          }
        : {
            eachMessage: async ({ message, partition }) => {
              if (stopped) return
              clock()
              counted(registry ? await decode(message, partition) : length(message))
            },
          }
    )
    await done
  } finally {
    clearTimeout(timer)
  }
  const s = t => Number(t) / 1e9
  process.stdout.write(
    JSON.stringify({
      count: handled,
      timed: handled - 1,
      elapsed_s: s(last - first),
      join_s: s(first - started),
      checksum,
      first_unix_ms: firstUnixMs,
    }) + '\n'
  )
  // Leaving the group is not timed; a slow disconnect must not hold the benchmark up.
  await Promise.race([consumer.disconnect().catch(() => {}), new Promise(resolve => setTimeout(resolve, 5000))])
}

main().then(
  () => process.exit(0),
  e => fail(SCRIPT, e && e.message ? e.message : String(e))
)
