import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Ajv as AjvClass, ValidateFunction } from 'ajv';
import { requireCjs } from '../../wire/requireCjs.js';
import { envelopeHeader, envelopeSchema, OPERATIONS, operations, type Operation } from '../envelope.js';
import { AJV_OPTIONS, COMPILED_DIR, knownSchemas, precompiled } from '../validators.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const built = existsSync(COMPILED_DIR);
const skip = built ? false : 'no dist/schemas/compiled/: built by tsc alone (npm run build precompiles the validators)';

const { Ajv } = requireCjs('ajv') as { Ajv: typeof AjvClass };
/** What ajv.compile builds at run time when there is no precompiled file. */
function ajvCompiled(schema: object): ValidateFunction {
  return new Ajv(AJV_OPTIONS).compile(schema);
}

// The modules that hand schemas to validators.ts at their top level (the list in
// scripts/compile-validators.mjs).
const SCHEMA_MODULES = [
  '../../poe-chain/core/genesis.js',
  '../../poe-chain/core/auction/auctionAudit.js',
  '../../poe-chain/core/market/marketAudit.js',
  '../../hem/hemConfig.js',
  '../../hem/homePage/homePageServer.js',
  '../../csm-registry/registryValidators.js',
  '../../aggregator/adminApi.js',
  '../../analytics/facts.js',
];

test('every schema the platform validates with has a precompiled validator', { skip }, async () => {
  for (const m of SCHEMA_MODULES) await import(m);
  const schemas = [...knownSchemas(), ...OPERATIONS.map((op) => operations[op].params)];
  assert.ok(schemas.length > OPERATIONS.length + 20, `${schemas.length} schemas`);
  const missing = schemas.filter((s) => precompiled(s) === undefined).map((s) => JSON.stringify(s).slice(0, 120));
  assert.deepEqual(missing, [], 'run npm run build (scripts/compile-validators.mjs)');
});

test('a schema the build did not see is compiled by ajv', () => {
  assert.equal(precompiled({ type: 'object', additionalProperties: false, properties: { made: { const: 'up' } } }), undefined);
});

/** Every envelope (an object with operation and parameters) in the repository's JSON files. */
function envelopesIn(value: unknown, out: Record<string, unknown>[]): void {
  if (Array.isArray(value)) for (const v of value) envelopesIn(v, out);
  else if (value !== null && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    if (typeof o.operation === 'string' && (OPERATIONS as string[]).includes(o.operation) && 'parameters' in o) out.push(o);
    for (const v of Object.values(o)) envelopesIn(v, out);
  }
}

function jsonFiles(dir: string, out: string[]): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) jsonFiles(p, out);
    else if (name.endsWith('.json')) out.push(p);
  }
  return out;
}

/** The message and variants of it that break one rule each: missing, extra, wrong-typed, out-of-range values. */
function variants(e: Record<string, unknown>): unknown[] {
  const out: unknown[] = [e, { ...e, extra: 1 }, { ...e, parameters: 'x' }];
  for (const k of Object.keys(e)) {
    const { [k]: _dropped, ...rest } = e;
    out.push(rest);
  }
  const leaves: string[][] = [];
  const walk = (v: unknown, path: string[]) => {
    if (leaves.length >= 60) return;
    if (v !== null && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, [...path, k]);
    else leaves.push(path);
  };
  walk(e.parameters, ['parameters']);
  const setAt = (path: string[], value: unknown): unknown => {
    const copy = structuredClone(e) as Record<string, unknown>;
    let o = copy as Record<string, unknown>;
    for (const k of path.slice(0, -1)) o = o[k] as Record<string, unknown>;
    o[path[path.length - 1]!] = value;
    return copy;
  };
  for (const path of leaves) for (const bad of ['', 'x'.repeat(5000), -1, 0.5, 1e21, true, null, {}]) out.push(setAt(path, bad));
  return out;
}

test('precompiled and ajv-compiled validators agree on every message in the repository and variants of it', { skip }, () => {
  const envelopes: Record<string, unknown>[] = [];
  for (const dir of ['poe-chain/test/vectors', 'aggregator/examples', 'poe-chain/core/market/examples']) {
    for (const f of jsonFiles(join(ROOT, dir), [])) envelopesIn(JSON.parse(readFileSync(f, 'utf8')), envelopes);
  }
  assert.ok(envelopes.length > 50, `${envelopes.length} envelopes`);
  const pairs = new Map<string, [ValidateFunction, ValidateFunction]>();
  const pair = (name: string, schema: object): [ValidateFunction, ValidateFunction] => {
    let p = pairs.get(name);
    if (!p) {
      const pre = precompiled(schema);
      assert.ok(pre, `${name}: precompiled`);
      p = [pre, ajvCompiled(schema)];
      pairs.set(name, p);
    }
    return p;
  };
  let checked = 0;
  let rejected = 0;
  for (const e of envelopes) {
    const op = e.operation as Operation;
    for (const v of variants(e)) {
      for (const [name, schema] of [['header', envelopeHeader], [op, envelopeSchema(op)]] as const) {
        const [pre, compiled] = pair(name, schema);
        const ok = pre(v);
        assert.equal(ok, compiled(v), `${name}: result`);
        assert.deepEqual(pre.errors ?? null, compiled.errors ?? null, `${name}: errors`);
        if (name === op) {
          checked++;
          if (!ok) rejected++;
        }
      }
    }
  }
  assert.ok(rejected > checked / 2 && rejected < checked, `${rejected} of ${checked} variants rejected by their operation's schema`);
});
