#!/usr/bin/env node
'use strict'
// Benchmark peer for consume-bench (bench/, issue 7): the seed's stack, kafkajs `eachMessage`, one message at a
// time, optionally decoding every value with @kafkajs/confluent-schema-registry. Reads <count> records from the
// beginning of <topic> with a fresh group and reports its own count and time.
// usage: node bench_consume.js --brokers 127.0.0.1:9092 --topic <t> --count <n> --group <g>
//          [--registry <url>]        decode every value with registry.decode (the seed's Avro path)
//          [--concurrency <p>]       partitionsConsumedConcurrently (default 1, kafkajs' default)
//          [--sleep-ms <ms>]         await a timer of <ms> per message (simulated I/O, key-ordered benchmark)
//          [--timeout-ms 120000]     give up when <n> records did not arrive in time (exit 1)
// stdout: exactly one JSON line at the end:
//   {"count":n,"timed":n-1,"elapsed_ms":..,"join_ms":..,"checksum":..,"violations":..,"first_unix_ms":..}
// The clock starts at the first record handled (group join and the first fetch are excluded) and stops at the
// <n>-th. `checksum` sums the payload lengths (no-op) or the decoded `watched_seconds` (decode), so the work cannot
// be skipped. `violations` counts records whose value, read as a decimal sequence number, is not one more than the
// previous one of the same key (only with --sleep-ms, whose topic carries such numbers).
const { Kafka } = require('kafkajs')
const { SchemaRegistry } = require('@kafkajs/confluent-schema-registry')
const { cli, fail, kafkaLogging } = require('./common')

const SCRIPT = 'bench_consume.js'

const args = cli(SCRIPT, {
  brokers: { required: true },
  topic: { required: true },
  count: { required: true, integer: true },
  group: { required: true },
  registry: {},
  concurrency: { default: '1', integer: true },
  'sleep-ms': { default: '0', integer: true },
  'timeout-ms': { default: '120000', integer: true },
})

async function main() {
  const registry = args.registry ? new SchemaRegistry({ host: args.registry }) : null
  const kafka = new Kafka({ clientId: 'consume-bench-kafkajs', brokers: args.brokers.split(','), ...kafkaLogging })
  const consumer = kafka.consumer({ groupId: args.group, allowAutoTopicCreation: false })
  const sleepMs = args['sleep-ms']
  const sleep = () => new Promise(resolve => setTimeout(resolve, sleepMs))
  const next = new Map() // key -> expected sequence number (--sleep-ms only)

  let handled = 0
  let checksum = 0
  let violations = 0
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
  consumer.on(consumer.events.CRASH, ({ payload }) => finish.reject(payload.error))

  await consumer.connect()
  try {
    await consumer.subscribe({ topics: [args.topic], fromBeginning: true })
    await consumer.run({
      partitionsConsumedConcurrently: args.concurrency,
      eachMessage: async ({ message, partition }) => {
        if (handled >= args.count) return
        if (first === null) {
          first = process.hrtime.bigint()
          firstUnixMs = Date.now()
        }
        if (registry) {
          let decoded
          try {
            decoded = await registry.decode(message.value)
          } catch (e) {
            finish.reject(new Error(`decoding partition ${partition} offset ${message.offset}: ${e.message}`))
            return
          }
          checksum += decoded.watched_seconds
        } else {
          checksum += message.value ? message.value.length : 0
        }
        if (sleepMs > 0) {
          await sleep()
          const key = message.key ? message.key.toString() : ''
          const seq = Number(message.value ? message.value.toString() : NaN)
          const expected = next.get(key) || 0
          if (seq !== expected) violations++
          next.set(key, Number.isSafeInteger(seq) ? seq + 1 : expected + 1)
        }
        handled++
        if (handled === args.count) {
          last = process.hrtime.bigint()
          finish.resolve()
        }
      },
    })
    await done
  } finally {
    clearTimeout(timer)
  }
  const ms = t => Number(t) / 1e6
  process.stdout.write(
    JSON.stringify({
      count: handled,
      timed: handled - 1,
      elapsed_ms: ms(last - first),
      join_ms: ms(first - started),
      checksum,
      violations,
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
