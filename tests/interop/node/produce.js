#!/usr/bin/env node
'use strict'
// Interop peer: produce <count> LectureProgress records the way a kafkajs user does.
// usage: node produce.js --brokers 127.0.0.1:9092 --registry <url> --topic <t> --count <n>
// stdout: exactly one line `produced <n> schema_id=<id>`; everything else goes to stderr.
const { Kafka, Partitioners } = require('kafkajs')
const { SchemaRegistry, SchemaType } = require('@kafkajs/confluent-schema-registry')
const { cli, fail, readSchema, kafkaLogging } = require('./common')

const SCRIPT = 'produce.js'
const BATCH = 500 // messages per send(): keeps each request far below the broker's 1 MB default

const args = cli(SCRIPT, {
  brokers: { required: true },
  registry: { required: true },
  topic: { required: true },
  count: { required: true, integer: true },
})

function record(i) {
  return {
    event_id: `node-${i}`,
    learner_id: `learner-${i % 7}`,
    course_id: `course-${i % 3}`,
    lecture_id: `lecture-${i}`,
    watched_seconds: (i * 10) % 3600,
    occurred_at: 1764000000000 + i * 1000,
  }
}

async function main() {
  const registry = new SchemaRegistry({ host: args.registry })
  const subject = `${args.topic}-value` // TopicNameStrategy
  let id
  try {
    // register() returns the existing id when the same schema is already registered under the subject.
    ;({ id } = await registry.register({ type: SchemaType.AVRO, schema: readSchema() }, { subject }))
  } catch (e) {
    throw new Error(`registering the schema under '${subject}' at ${args.registry}: ${e.message}`)
  }

  const kafka = new Kafka({ clientId: 'interop-node-producer', brokers: args.brokers.split(','), ...kafkaLogging })
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: true })
  await producer.connect()
  try {
    for (let start = 0; start < args.count; start += BATCH) {
      const messages = []
      for (let i = start; i < Math.min(start + BATCH, args.count); i++) {
        const value = record(i)
        messages.push({ key: Buffer.from(value.learner_id, 'utf8'), value: await registry.encode(id, value) })
      }
      await producer.send({ topic: args.topic, acks: -1, messages })
    }
  } finally {
    await producer.disconnect()
  }
  process.stdout.write(`produced ${args.count} schema_id=${id}\n`)
}

main().then(
  () => process.exit(0),
  e => fail(SCRIPT, e && e.message ? e.message : String(e))
)
