#!/usr/bin/env node
'use strict'
// Key-ordered benchmark peer for consume-bench (bench/src/key_ordered.rs, issue 17): the seed's stack, kafkajs
// `eachMessage` with `partitionsConsumedConcurrently`, every record making one round trip to the harness's echo stub
// (a TCP server answering each 8-byte request after a fixed delay) over a pooled connection (`net`): a connection is
// taken per call and given back after it, so there are at most as many as calls in flight. kafkajs handles each
// partition one message at a time, so it overlaps calls only across partitions: run it on a topic with as many
// partitions as --concurrency.
// usage: node bench_key_ordered.js --brokers 127.0.0.1:9092 --topic <t> --count <n> --group <g>
//          --concurrency <p> --echo 127.0.0.1:<port> [--warmup-topic <w> --warmup-count <m>] [--timeout-ms 120000]
// With --warmup-topic it first reads the first <m> records of <w> with another consumer and group, untimed (V8 compiles
// the same code paths), then the timed <topic>.
// stdout: exactly one JSON line at the end:
//   {"count","timed","elapsed_s","checksum","join_s","cpu_s","first_unix_ms","violations","io_s","key_io_s"}
// The clock runs from the first call's start to the <n>-th call's end (every counted record inside it: timed = count);
// join_s from the timed consumer's creation to its first call; cpu_s is the process's CPU time (user + system) over the clock's
// span; checksum sums the echoed values (each record's sequence number within its key, its value); violations counts
// records whose sequence number is not one more than the previous one of the same key; io_s sums the round trips'
// durations, key_io_s is the largest per-key sum of them.
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
  'warmup-topic': {},
  'warmup-count': { default: '0', integer: true },
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

// One consumer reading <count> records of <topic> with the fresh group <group>; resolves with its measurements and a
// function that leaves the group.
async function phase(kafka, topic, group, count) {
  const consumer = kafka.consumer({ groupId: group, allowAutoTopicCreation: false })
  const keys = new Map() // key -> { next: expected sequence number, io: its calls' round trips summed (ns) }
  const m = { handled: 0, checksum: 0, violations: 0, ioNs: 0n, first: null, firstCpu: null, firstUnixMs: 0, last: null, lastCpu: null }
  m.started = process.hrtime.bigint()
  let finish
  const done = new Promise((resolve, reject) => {
    finish = { resolve, reject }
  })
  done.catch(() => {})
  const timer = setTimeout(
    () => finish.reject(new Error(`handled ${m.handled} of ${count} records from '${topic}' within ${args['timeout-ms']} ms`)),
    args['timeout-ms']
  )
  consumer.on(consumer.events.CRASH, ({ payload }) => finish.reject(payload.error))

  await consumer.connect()
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true })
    await consumer.run({
      partitionsConsumedConcurrently: args.concurrency,
      eachMessage: async ({ message }) => {
        if (m.handled >= count) return
        if (m.first === null) {
          m.first = process.hrtime.bigint()
          m.firstCpu = process.cpuUsage()
          m.firstUnixMs = Date.now()
        }
        const key = message.key ? message.key.toString() : ''
        const seq = Number(message.value ? message.value.toString() : NaN)
        const sent = Number.isSafeInteger(seq) && seq >= 0 ? BigInt(seq) : 0xffffffffffffffffn
        let echoed
        let io
        try {
          const t = process.hrtime.bigint()
          echoed = await roundTrip(sent)
          io = process.hrtime.bigint() - t
          m.ioNs += io
        } catch (e) {
          finish.reject(new Error(`echo round trip: ${e.message}`))
          return
        }
        if (echoed !== sent) {
          finish.reject(new Error(`the echo stub answered ${echoed} to ${sent}`))
          return
        }
        m.checksum += Number(echoed)
        let k = keys.get(key)
        if (!k) {
          k = { next: 0, io: 0n }
          keys.set(key, k)
        }
        if (seq !== k.next) m.violations++
        k.next = Number.isSafeInteger(seq) ? seq + 1 : k.next + 1
        k.io += io
        m.handled++
        if (m.handled === count) {
          m.last = process.hrtime.bigint()
          m.lastCpu = process.cpuUsage()
          finish.resolve()
        }
      },
    })
    await done
  } finally {
    clearTimeout(timer)
  }
  m.keyIoNs = 0n
  for (const k of keys.values()) if (k.io > m.keyIoNs) m.keyIoNs = k.io
  // Leaving the group is not timed, and the group is never used again: a slow disconnect (over 1 s) must not hold the
  // benchmark up.
  m.leave = () => Promise.race([consumer.disconnect().catch(() => {}), new Promise(resolve => setTimeout(resolve, 1000))])
  return m
}

async function main() {
  const kafka = new Kafka({ clientId: 'consume-bench-kafkajs-ko', brokers: args.brokers.split(','), ...kafkaLogging })
  if (args['warmup-topic'] && args['warmup-count'] > 0) {
    // V8's warm-up, untimed: the same code paths on another topic, another group.
    const w = await phase(kafka, args['warmup-topic'], `${args.group}-warmup`, args['warmup-count'])
    await w.leave()
  }
  const m = await phase(kafka, args.topic, args.group, args.count)
  const s = t => Number(t) / 1e9
  const cpu = u => (u.user + u.system) / 1e6
  process.stdout.write(
    JSON.stringify({
      count: m.handled,
      timed: m.handled,
      elapsed_s: s(m.last - m.first),
      checksum: m.checksum,
      join_s: s(m.first - m.started),
      cpu_s: cpu(m.lastCpu) - cpu(m.firstCpu),
      first_unix_ms: m.firstUnixMs,
      violations: m.violations,
      io_s: s(m.ioNs),
      key_io_s: s(m.keyIoNs),
    }) + '\n'
  )
  for (const c of idle) c.socket.destroy()
  await m.leave()
}

main().then(
  () => process.exit(0),
  e => fail(SCRIPT, e && e.message ? e.message : String(e))
)
