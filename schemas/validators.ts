/**
 * ajv validators compiled from the schemas. Each operation's validator is compiled on
 * first use and kept: a process that only ever sees a few operations (a HEM) pays only
 * for those, which matters on a Raspberry Pi.
 *
 * Precompiled validators: `npm run build` writes, for every schema known to this module,
 * ajv's own standalone code (same ajv, same options) to dist/schemas/compiled/<key>.cjs
 * (scripts/compile-validators.mjs), the key a hash of the schema's JSON. A schema with such a file
 * is validated by it and ajv is never loaded (loading ajv and compiling a schema cost
 * 50–100 ms of every process's start); a schema without one (a build by `tsc` alone, a
 * schema changed since) is compiled by ajv as before. The file is a cache keyed by content,
 * never a second source: the schemas stay the one source of the wire contract.
 */
import type { Ajv as AjvClass, Options, ValidateFunction, ErrorObject } from 'ajv';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { requireCjs } from '../wire/requireCjs.js';
import { envelopeHeader, envelopeSchema, operations, type Operation } from './envelope.js';

/** The options of every validator, compiled here or precompiled (scripts/compile-validators.mjs). */
export const AJV_OPTIONS: Options = { allErrors: false, strict: true, strictRequired: false, allowUnionTypes: false };

let ajv: AjvClass | undefined;
function ajvInstance(): AjvClass {
  if (ajv === undefined) {
    const { Ajv } = requireCjs('ajv') as { Ajv: typeof AjvClass };
    ajv = new Ajv(AJV_OPTIONS);
  }
  return ajv;
}

/** Every schema handed to this module, in order (what scripts/compile-validators.mjs precompiles). */
const known = new Set<object>();

/** The key of a schema's precompiled validator: its JSON's SHA-256, first 24 hex digits. */
export function schemaKey(schema: object): string {
  return createHash('sha256').update(JSON.stringify(schema)).digest('hex').slice(0, 24);
}

/** Where scripts/compile-validators.mjs writes the precompiled validators (dist/schemas/compiled/). */
export const COMPILED_DIR = new URL('./compiled/', import.meta.url);

/** The precompiled validator of a schema, or undefined when the build wrote none for it. */
export function precompiled(schema: object): ValidateFunction | undefined {
  const file = new URL(`${schemaKey(schema)}.cjs`, COMPILED_DIR);
  try {
    return requireCjs(fileURLToPath(file)) as ValidateFunction;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND') return undefined;
    throw err;
  }
}

/** A schema's validator: the precompiled one if the build wrote it, else ajv's compile. */
function compile(schema: object): ValidateFunction {
  known.add(schema);
  return precompiled(schema) ?? ajvInstance().compile(schema);
}

/**
 * The schemas this module has been given so far, each compiled or to be compiled on use;
 * with every operation's envelope and the header (scripts/compile-validators.mjs, tests).
 */
export function knownSchemas(): object[] {
  return [envelopeHeader, ...Object.keys(operations).map((op) => envelopeSchema(op as Operation)), ...known];
}

let header: ValidateFunction | undefined;
/** The envelope with its parameters left open (to learn the operation first). */
export function validateHeader(value: unknown): boolean {
  header ??= compile(envelopeHeader);
  const ok = header(value);
  validateHeader.errors = header.errors;
  return ok as boolean;
}
validateHeader.errors = null as ErrorObject[] | null | undefined;

const byOperation = new Map<Operation, ValidateFunction>();

export function envelopeValidator(op: Operation): ValidateFunction {
  let v = byOperation.get(op);
  if (v === undefined) {
    if (!Object.prototype.hasOwnProperty.call(operations, op)) throw new Error(`UNKNOWN_OPERATION operation=${op}`);
    v = compile(envelopeSchema(op));
    byOperation.set(op, v);
  }
  return v;
}

/** Compile a standalone schema (e.g. an HTTP body) with the same settings. */
export function compileSchema(schema: object): ValidateFunction {
  return compile(schema);
}

/**
 * The same as compileSchema, compiled on the first call instead of at once: a module that
 * holds validators at its top level then costs nothing to import (the CLI starts faster;
 * a process that never meets a kind of input never compiles its schema).
 */
export function compileOnUse(schema: object): ValidateFunction {
  known.add(schema);
  let v: ValidateFunction | undefined;
  const check = ((value: unknown) => {
    v ??= compile(schema);
    const ok = v(value);
    check.errors = v.errors;
    return ok;
  }) as ValidateFunction;
  return check;
}

export type { ErrorObject };
export { operations };
