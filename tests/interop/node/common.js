'use strict'
// Shared helpers for produce.js / consume.js: CLI parsing, the schema file, quiet kafkajs logging.
const fs = require('fs')
const path = require('path')
const { parseArgs } = require('util')
const { logLevel } = require('kafkajs')

const SCHEMA_PATH = path.join(__dirname, '..', 'lecture_progress.avsc')

function fail(script, message) {
  process.stderr.write(`${script}: error: ${message}\n`)
  process.exit(1)
}

// options: { name: { type: 'string', default?, required? } }; --count and --timeout-ms are parsed as integers.
function cli(script, options) {
  let values
  try {
    const spec = {}
    for (const [name, o] of Object.entries(options)) spec[name] = { type: 'string', default: o.default }
    ;({ values } = parseArgs({ options: spec, strict: true, allowPositionals: false }))
  } catch (e) {
    fail(script, `${e.message}\nusage: node ${script} ${usage(options)}`)
  }
  for (const [name, o] of Object.entries(options)) {
    if (o.required && (values[name] === undefined || values[name] === '')) {
      fail(script, `missing --${name}\nusage: node ${script} ${usage(options)}`)
    }
    if (o.integer && values[name] !== undefined) {
      const n = Number(values[name])
      if (!Number.isSafeInteger(n) || n < 0) fail(script, `--${name} must be a non-negative integer, got '${values[name]}'`)
      values[name] = n
    }
  }
  return values
}

function usage(options) {
  return Object.entries(options)
    .map(([name, o]) => (o.required ? `--${name} <${name}>` : `[--${name} <${name}>]`))
    .join(' ')
}

function readSchema() {
  return fs.readFileSync(SCHEMA_PATH, 'utf8').trim()
}

// kafkajs logs: ERROR level only (KAFKAJS_LOG_LEVEL still overrides), always to stderr, one line each.
const kafkaLogging = {
  logLevel: logLevel.ERROR,
  logCreator: () => ({ namespace, label, log }) => {
    const { message, timestamp, logger, ...extra } = log
    process.stderr.write(`kafkajs ${label} [${namespace}] ${message} ${JSON.stringify(extra)}\n`)
  },
}

module.exports = { cli, fail, readSchema, kafkaLogging }
