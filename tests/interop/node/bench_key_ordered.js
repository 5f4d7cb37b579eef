#!/usr/bin/env node
'use strict'
// Key-ordered benchmark peer for consume-bench (bench/src/key_ordered.rs, issue 17): the seed's stack, kafkajs
// `eachMessage` with `partitionsConsumedConcurrently`, every record making one round trip to the harness's echo stub
// (a TCP server answering each 8-byte request after a fixed delay) over a pooled connection (`net`): a connection is
// taken per call and given back after it, so there are at most as many as calls in flight. kafkajs handles each
// partition one message at a time, so it overlaps calls only across partitions: run it on a topic with as many
// partitions as --concurrency.
// usage: node bench_key_ordered.js --brokers 127.0.0.1:9092 --topic <t> --count <n> --group <g>
//          --concurrency <p> --echo 127.0.0.1:<port> [--timeout-ms 120000]
// stdout: exactly one JSON line at the end:
//   {"count","timed","elapsed_s","checksum","join_s","cpu_s","first_unix_ms","violations","io_s"}
// The clock runs from the first call's start to the <n>-th call's end (every counted record inside it: timed = count);
// join_s from the script's start to the first call; cpu_s is the process's CPU time (user + system) over the clock's
// span; checksum sums the echoed values (each record's sequence number within its key, its value); violations counts
// records whose sequence number is not one more than the previous one of the same key; io_s sums the round trips'
// durations.
const net = require('net')
const { Kafka } = require('kafkajs')
const { cli, fail, kafkaLogging } = require('./common')

const SCRIPT = 'bench_key_ordered.js'

const args = cli(SCRIPT, {
  brokers: { required: true },
  topic: { required: true },
  count: { required: true, integer: true },
  group: { required: true },
  concurrency: { required: true, integer: true },
  echo: { required: true },
  'timeout-ms': { default: '120000', integer: true },
})

// One connection to the echo stub, one request at a time.
class EchoConn {
  constructor(socket) {
    this.socket = socket
    this.buf = Buffer.alloc(0)
    this.pending = null
    socket.on('data', d => this.onData(d))
    socket.on('error', e => this.fail(e))
    socket.on('close', () => this.fail(new Error('the echo stub closed the connection')))
  }

  onData(d) {
    this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d
    if (this.pending && this.buf.length >= 8) {
      const v = this.buf.readBigUInt64LE(0)
      this.buf = this.buf.subarray(8)
      const p = this.pending
      this.pending = null
      p.resolve(v)
    }
  }

  fail(e) {
    if (this.pending) {
      const p = this.pending
      this.pending = null
      p.reject(e)
    }
  }

  call(value) {
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject }
      const b = Buffer.allocUnsafe(8)
      b.writeBigUInt64LE(value)
      this.socket.write(b)
    })
  }
}

function parseEcho(s) {
  const i = s.lastIndexOf(':')
  const port = Number(s.slice(i + 1))
  if (i < 0 || !Number.isSafeInteger(port)) fail(SCRIPT, `--echo must be host:port, got '${s}'`)
  return { host: s.slice(0, i), port }
}

const echoAddr = parseEcho(args.echo)
const idle = []

function connect() {
  return new Promise((resolve, reject) => {
    const socket = net.connect(echoAddr, () => {
      socket.removeListener('error', reject)
      socket.setNoDelay(true)
      resolve(new EchoConn(socket))
    })
    socket.once('error', reject)
  })
}

async function roundTrip(value) {
  const conn = idle.pop() || (await connect())
  const echoed = await conn.call(value)
  idle.push(conn)
  return echoed
}

async function main() {
  const kafka = new Kafka({ clientId: 'consume-bench-kafkajs-ko', brokers: args.brokers.split(','), ...kafkaLogging })
  const consumer = kafka.consumer({ groupId: args.group, allowAutoTopicCreation: false })
  const next = new Map() // key -> expected sequence number

  let handled = 0
  let checksum = 0
  let violations = 0
  let ioNs = 0n
  let first = null
  let firstCpu = null
  let firstUnixMs = 0
  let last = null
  let lastCpu = null
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
      eachMessage: async ({ message }) => {
        if (handled >= args.count) return
        if (first === null) {
          first = process.hrtime.bigint()
          firstCpu = process.cpuUsage()
          firstUnixMs = Date.now()
        }
        const key = message.key ? message.key.toString() : ''
        const seq = Number(message.value ? message.value.toString() : NaN)
        const sent = Number.isSafeInteger(seq) && seq >= 0 ? BigInt(seq) : 0xffffffffffffffffn
        let echoed
        try {
          const t = process.hrtime.bigint()
          echoed = await roundTrip(sent)
          ioNs += process.hrtime.bigint() - t
        } catch (e) {
          finish.reject(new Error(`echo round trip: ${e.message}`))
          return
        }
        if (echoed !== sent) {
          finish.reject(new Error(`the echo stub answered ${echoed} to ${sent}`))
          return
        }
        checksum += Number(echoed)
        const expected = next.get(key) || 0
        if (seq !== expected) violations++
        next.set(key, Number.isSafeInteger(seq) ? seq + 1 : expected + 1)
        handled++
        if (handled === args.count) {
          last = process.hrtime.bigint()
          lastCpu = process.cpuUsage()
          finish.resolve()
        }
      },
    })
    await done
  } finally {
    clearTimeout(timer)
  }
  const s = t => Number(t) / 1e9
  const cpu = u => (u.user + u.system) / 1e6
  process.stdout.write(
    JSON.stringify({
      count: handled,
      timed: handled,
      elapsed_s: s(last - first),
      checksum,
      join_s: s(first - started),
      cpu_s: cpu(lastCpu) - cpu(firstCpu),
      first_unix_ms: firstUnixMs,
      violations,
      io_s: s(ioNs),
    }) + '\n'
  )
  for (const c of idle) c.socket.destroy()
  // Leaving the group is not timed; a slow disconnect must not hold the benchmark up.
  await Promise.race([consumer.disconnect().catch(() => {}), new Promise(resolve => setTimeout(resolve, 5000))])
}

main().then(
  () => process.exit(0),
  e => fail(SCRIPT, e && e.message ? e.message : String(e))
)
