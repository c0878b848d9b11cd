/**
 * require() for the CommonJS packages (mqtt, pino, ajv, level, tweetnacl) on the HEM's
 * import path. Node 20's ES-module loader lexes every CommonJS entry it imports for named
 * exports and keeps that state; for these five packages it costs about 13 MB of resident
 * memory, a fifth of a HEM's budget on a Raspberry Pi (measured with `npm run bench:hem`).
 * Types still come from `import type`.
 */
import { createRequire } from 'node:module';

export const requireCjs = createRequire(import.meta.url);
