/**
 * ajv validators compiled from the schemas. Each operation's validator is compiled on
 * first use and kept: a process that only ever sees a few operations (a HEM) pays only
 * for those, which matters on a Raspberry Pi.
 */
import type { Ajv as AjvClass, ValidateFunction, ErrorObject } from 'ajv';
import { requireCjs } from '../wire/requireCjs.js';

const { Ajv } = requireCjs('ajv') as { Ajv: typeof AjvClass };
import { envelopeHeader, envelopeSchema, operations, type Operation } from './envelope.js';

const ajv = new Ajv({ allErrors: false, strict: true, strictRequired: false, allowUnionTypes: false });

let header: ValidateFunction | undefined;
/** The envelope with its parameters left open (to learn the operation first). */
export function validateHeader(value: unknown): boolean {
  header ??= ajv.compile(envelopeHeader);
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
    v = ajv.compile(envelopeSchema(op));
    byOperation.set(op, v);
  }
  return v;
}

/** Compile a standalone schema (e.g. an HTTP body) with the same settings. */
export function compileSchema(schema: object): ValidateFunction {
  return ajv.compile(schema);
}

/**
 * The same as compileSchema, compiled on the first call instead of at once: a module that
 * holds validators at its top level then costs nothing to import (the CLI starts faster;
 * a process that never meets a kind of input never compiles its schema).
 */
export function compileOnUse(schema: object): ValidateFunction {
  let v: ValidateFunction | undefined;
  const check = ((value: unknown) => {
    v ??= ajv.compile(schema);
    const ok = v(value);
    check.errors = v.errors;
    return ok;
  }) as ValidateFunction;
  return check;
}

export type { ErrorObject };
export { operations };
