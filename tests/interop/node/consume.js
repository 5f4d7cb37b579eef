#!/usr/bin/env node
'use strict'
// Interop peer: consume <count> records from the beginning with a fresh group, the way a kafkajs user does.
// usage: node consume.js --brokers 127.0.0.1:9092 --registry <url> --topic <t> --count <n> [--group <g>] [--timeout-ms 60000]
// stdout: one JSON line per decoded record (fields as decoded), nothing else; exit 1 if <n> did not arrive in time.
const { Kafka } = require('kafkajs')
const { SchemaRegistry } = require('@kafkajs/confluent-schema-registry')
const { cli, fail, kafkaLogging } = require('./common')

const SCRIPT = 'consume.js'
const sleep = ms => new Promise(resolve => setTimeout(resolve, ms))

const args = cli(SCRIPT, {
  brokers: { required: true },
  registry: { required: true },
  topic: { required: true },
  count: { required: true, integer: true },
  group: {},
  'timeout-ms': { default: '60000', integer: true },
})

async function main() {
  const registry = new SchemaRegistry({ host: args.registry })
  const group = args.group || `interop-node-${args.topic}-${Date.now()}-${process.pid}`
  const kafka = new Kafka({ clientId: 'interop-node-consumer', brokers: args.brokers.split(','), ...kafkaLogging })
  const consumer = kafka.consumer({ groupId: group, allowAutoTopicCreation: false })

  let received = 0
  let finish
  const done = new Promise((resolve, reject) => {
    finish = { resolve, reject }
  })
  done.catch(() => {}) // handled by `await done` below, even if it settles while we are still connecting
  const timer = setTimeout(
    () => finish.reject(new Error(`received ${received} of ${args.count} records from '${args.topic}' within ${args['timeout-ms']} ms`)),
    args['timeout-ms']
  )
  if (args.count === 0) finish.resolve()

  consumer.on(consumer.events.CRASH, ({ payload }) => finish.reject(payload.error))
  await consumer.connect()
  try {
    // Like the Python peer, wait (within the timeout) for a topic that does not exist yet.
    let subscribed = false
    while (!subscribed) {
      try {
        await consumer.subscribe({ topics: [args.topic], fromBeginning: true })
        subscribed = true
      } catch (e) {
        if (!e || e.type !== 'UNKNOWN_TOPIC_OR_PARTITION') throw e
        const settled = await Promise.race([done.then(() => true, () => true), sleep(500).then(() => false)])
        if (settled) break // timed out (or count 0): `await done` below reports it
      }
    }
    if (subscribed) await consumer.run({
      eachMessage: async ({ message, partition }) => {
        if (received >= args.count) return
        let decoded
        try {
          decoded = await registry.decode(message.value)
        } catch (e) {
          finish.reject(new Error(`decoding partition ${partition} offset ${message.offset}: ${e.message}`))
          return
        }
        received++
        process.stdout.write(JSON.stringify(decoded) + '\n')
        if (received === args.count) finish.resolve()
      },
    })
    await done
  } finally {
    clearTimeout(timer)
    await consumer.disconnect().catch(() => {})
  }
}

main().then(
  () => process.exit(0),
  e => fail(SCRIPT, e && e.message ? e.message : String(e))
)
