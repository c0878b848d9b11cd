/** ajv validators compiled from the schemas, once per process. */
import { Ajv, type ValidateFunction, type ErrorObject } from 'ajv';
import { envelopeHeader, envelopeSchema, operations, OPERATIONS, type Operation } from './envelope.js';

const ajv = new Ajv({ allErrors: false, strict: true, strictRequired: false, allowUnionTypes: false });

export const validateHeader: ValidateFunction = ajv.compile(envelopeHeader);

const byOperation = new Map<Operation, ValidateFunction>();
for (const op of OPERATIONS) byOperation.set(op, ajv.compile(envelopeSchema(op)));

export function envelopeValidator(op: Operation): ValidateFunction {
  const v = byOperation.get(op);
  if (!v) throw new Error(`UNKNOWN_OPERATION operation=${op}`);
  return v;
}

/** Compile a standalone schema (e.g. an HTTP body) with the same settings. */
export function compileSchema(schema: object): ValidateFunction {
  return ajv.compile(schema);
}

export type { ErrorObject };
export { operations };
