/**
 * Writes (or checks) the plain JSON Schema files in schemas/json/ for non-TypeScript
 * clients: one file per operation's full envelope, and the envelope header.
 *
 *   node dist/schemas/emitJson.js --write   rewrite schemas/json/
 *   node dist/schemas/emitJson.js --check   exit 1 if any file differs
 */
import { readFileSync, writeFileSync, mkdirSync, readdirSync, unlinkSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { envelopeHeader, envelopeSchema, OPERATIONS } from './envelope.js';

export function renderSchemas(): Map<string, string> {
  const out = new Map<string, string>();
  const draft = 'http://json-schema.org/draft-07/schema#';
  out.set('envelope.schema.json', JSON.stringify({ $schema: draft, $id: 'https://tmi.energy/schemas/v1/envelope.json', title: 'tmi/v1 envelope', ...envelopeHeader }, null, 2) + '\n');
  for (const op of OPERATIONS) out.set(`${op}.schema.json`, JSON.stringify({ $schema: draft, ...envelopeSchema(op) }, null, 2) + '\n');
  return out;
}

/** Source folder schemas/json (this file runs from dist/schemas/). */
export function jsonDir(): string {
  return fileURLToPath(new URL('../../schemas/json/', import.meta.url));
}

/** Names of files that are missing, different or extra. */
export function driftedFiles(dir = jsonDir()): string[] {
  const want = renderSchemas();
  const bad: string[] = [];
  for (const [name, text] of want) {
    let have: string | undefined;
    try {
      have = readFileSync(join(dir, name), 'utf8');
    } catch {
      have = undefined;
    }
    if (have !== text) bad.push(name);
  }
  for (const f of readdirSync(dir)) if (f.endsWith('.json') && !want.has(f)) bad.push(f);
  return bad;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const dir = jsonDir();
  if (process.argv.includes('--write')) {
    mkdirSync(dir, { recursive: true });
    const files = renderSchemas();
    for (const f of readdirSync(dir)) if (f.endsWith('.json') && !files.has(f)) unlinkSync(join(dir, f));
    for (const [name, text] of files) writeFileSync(join(dir, name), text);
    process.stdout.write(`wrote ${files.size} schema files to schemas/json/\n`);
  } else {
    const bad = driftedFiles(dir);
    if (bad.length) {
      process.stderr.write(`schemas/json is out of date: ${bad.join(', ')}\nrun: npm run schemas:emit\n`);
      process.exit(1);
    }
    process.stdout.write('schemas/json is in sync\n');
  }
}
