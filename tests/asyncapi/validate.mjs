// Validates one AsyncAPI 3.0 document (JSON or YAML, on stdin):
//   - with the AsyncAPI parser (structure, references, bindings, JSON Schemas): no errors;
//   - every Avro payload with the Avro schema parser's own validation (the AsyncAPI parser
//     validates custom schema formats only in 2.x documents, so this is done here);
//   - `--handlers a,b`: each handler has a `receive` operation (its `x-consume-handler`);
//   - `--compare doc.json`: the document says exactly what that JSON document says (for
//     checking that a YAML rendering matches the JSON one).
//
//   node tests/asyncapi/validate.mjs [--handlers a,b,c] [--compare doc.json] < document
//
// Prints every diagnostic and a summary line; exits 0 when there are no errors (warnings and
// information are printed, not fatal), 1 otherwise, 2 on a usage error.
// Installed by tests/asyncapi/setup.sh.
import { readFileSync } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import { Parser } from '@asyncapi/parser';
import { AvroSchemaParser } from '@asyncapi/avro-schema-parser';
import yaml from 'js-yaml';

const SEVERITY = ['error', 'warning', 'information', 'hint'];

function usage(message) {
  console.error(
    `validate.mjs: ${message}\nusage: node validate.mjs [--handlers a,b,c] [--compare doc.json] < document`,
  );
  process.exit(2);
}

const args = process.argv.slice(2);
let handlers = [];
let compare = null;
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--handlers' && i + 1 < args.length) {
    handlers = args[++i].split(',').filter((h) => h.length > 0);
  } else if (args[i] === '--compare' && i + 1 < args.length) {
    compare = args[++i];
  } else {
    usage(`unknown argument ${args[i]}`);
  }
}

const text = readFileSync(0, 'utf8');
if (text.trim().length === 0) usage('the document on stdin is empty');

const errors = [];
const error = (message) => {
  errors.push(message);
  console.log(`error: ${message}`);
};

// The document as data (YAML is a superset of JSON).
let raw = null;
try {
  raw = yaml.load(text);
} catch (e) {
  error(`does not load as YAML/JSON: ${e.message}`);
}

if (raw && compare !== null) {
  const expected = JSON.parse(readFileSync(compare, 'utf8'));
  if (!isDeepStrictEqual(raw, expected)) error(`differs from ${compare}`);
}

// Avro payloads, validated by the Avro schema parser (avsc).
const avro = AvroSchemaParser();
const avroFormats = new Set(avro.getMimeTypes());
let avroPayloads = 0;
const messageLists = [];
for (const [id, channel] of Object.entries(raw?.channels ?? {})) {
  messageLists.push([`channels/${id}/messages`, channel?.messages ?? {}]);
}
messageLists.push(['components/messages', raw?.components?.messages ?? {}]);
for (const [at, messages] of messageLists) {
  for (const [id, message] of Object.entries(messages)) {
    const payload = message?.payload;
    if (!payload || !avroFormats.has(payload.schemaFormat)) continue;
    avroPayloads++;
    const path = [...at.split('/'), id, 'payload', 'schema'];
    for (const d of await avro.validate({ data: payload.schema, path })) {
      error(`invalid Avro schema at /${path.join('/')}: ${d.message}`);
    }
  }
}

// The AsyncAPI parser.
const parser = new Parser();
parser.registerSchemaParser(avro);
const { document, diagnostics } = await parser.parse(text);
for (const d of diagnostics) {
  const where = `/${(d.path ?? []).join('/')}`;
  if (d.severity === 0) {
    error(`${d.code}: ${d.message} at ${where}`);
  } else {
    console.log(`${SEVERITY[d.severity] ?? `severity ${d.severity}`}: ${d.code}: ${d.message} at ${where}`);
  }
}

if (document) {
  if (document.version() !== '3.0.0') error(`not an AsyncAPI 3.0.0 document (asyncapi: ${document.version()})`);
  const received = new Set();
  for (const op of document.operations().all()) {
    if (!op.isReceive()) continue;
    const handler = op.extensions().get('x-consume-handler');
    received.add(handler ? handler.value() : op.id());
  }
  for (const h of handlers) if (!received.has(h)) error(`handler ${h} has no receive operation`);
  console.log(
    `${document.operations().all().length} operations, ${document.channels().all().length} channels, ` +
      `${avroPayloads} Avro payloads, ${errors.length} errors`,
  );
} else {
  if (errors.length === 0) error('the parser returned no document');
  console.log(`the document did not parse: ${errors.length} errors`);
}
process.exit(errors.length === 0 ? 0 : 1);
