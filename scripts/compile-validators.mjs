// Precompiles every schema the platform validates with into ajv's standalone code
// (schemas/validators.ts): one CommonJS module per schema in dist/schemas/compiled/,
// named by schemaKey(schema). Run by postbuild after tsc; `tsc` alone leaves the
// directory out and every schema is compiled by ajv at run time, as before.
// Same ajv, same options (AJV_OPTIONS): the code is what ajv.compile would build.
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const dist = new URL('../dist/', import.meta.url);
const require = createRequire(dist);
const { Ajv } = require('ajv');
const standaloneCode = require('ajv/dist/standalone').default;

const validators = await import(new URL('schemas/validators.js', dist).href);
const { operations } = await import(new URL('schemas/envelope.js', dist).href);

// Every module that hands a schema to validators.ts at its top level (compileSchema,
// compileOnUse). A module left out only loses its precompiled code (ajv compiles it).
const modules = [
  'poe-chain/core/genesis.js',
  'poe-chain/core/auction/auctionAudit.js',
  'poe-chain/core/market/marketAudit.js',
  'hem/hemConfig.js',
  'hem/homePage/homePageServer.js',
  'csm-registry/registryValidators.js',
  'aggregator/adminApi.js',
  'analytics/facts.js',
];
for (const m of modules) await import(new URL(m, dist).href);

// Every operation's parameters too (tmi auction clear checks an auction-result's).
const schemas = [...validators.knownSchemas(), ...Object.values(operations).map((o) => o.params)];

const out = fileURLToPath(validators.COMPILED_DIR);
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
const written = new Set();
for (const schema of schemas) {
  const key = validators.schemaKey(schema);
  if (written.has(key)) continue;
  const ajv = new Ajv({ ...validators.AJV_OPTIONS, code: { source: true } });
  const code = standaloneCode(ajv, ajv.compile(schema));
  writeFileSync(new URL(`${key}.cjs`, validators.COMPILED_DIR), `// precompiled by scripts/compile-validators.mjs (ajv standalone); do not edit\n${code}\n`);
  written.add(key);
}
if (readdirSync(out).length !== written.size) throw new Error('compile-validators: files and schemas disagree');
console.log(`compile-validators: ${written.size} validators in ${out}`);
