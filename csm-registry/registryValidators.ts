/** ajv validators of the registry API, compiled once per process, and the boundary check. */
import type { ValidateFunction } from 'ajv';
import { compileSchema } from '../schemas/validators.js';
import { schemaError } from '../wire/codec.js';
import { RegistryError, type RegistryErrorCode } from './registryError.js';
import * as s from './registrySchemas.js';
import { feederLimitParams, revocationParams } from '../schemas/operations.js';

export const validators = {
  enrollBody: compileSchema(s.enrollBody),
  revokeBody: compileSchema(s.revokeBody),
  certificateRequestBody: compileSchema(s.certificateRequestBody),
  feederLimitsBody: compileSchema(s.feederLimitsBody),
  meterIdParams: compileSchema(s.meterIdParams),
  addressParams: compileSchema(s.addressParams),
  feederParams: compileSchema(s.feederParams),
  listMetersQuery: compileSchema(s.listMetersQuery),
  revocationsQuery: compileSchema(s.revocationsQuery),
  auditQuery: compileSchema(s.auditQuery),
  emptyQuery: compileSchema(s.emptyQuery),
  meterRecord: compileSchema(s.meterRecord),
  pseudonymRecord: compileSchema(s.pseudonymRecord),
  certificate: compileSchema(s.certificateParams),
  revocation: compileSchema(revocationParams),
  signedFeederLimit: compileSchema(feederLimitParams),
  health: compileSchema(s.healthResponse),
  registryKey: compileSchema(s.registryKeyResponse),
  whoami: compileSchema(s.whoamiResponse),
  chainInfo: compileSchema(s.chainInfoResponse),
  meterResponse: compileSchema(s.meterResponse),
  meterPage: compileSchema(s.meterPage),
  revocationPage: compileSchema(s.revocationPage),
  auditPage: compileSchema(s.auditPage),
  feederList: compileSchema(s.feederList),
  errorResponse: compileSchema(s.errorResponse),
} as const;

/**
 * Asserts `value` matches `validate`, else throws a RegistryError with the SCHEMA_* code
 * of the first failure and its path. `where` names the part of the request (body, query…).
 */
export function check<T>(validate: ValidateFunction, value: unknown, where: string): T {
  if (validate(value)) return value as T;
  const e = schemaError(validate, value);
  throw new RegistryError(e.code as RegistryErrorCode, { in: where, ...e.context });
}
