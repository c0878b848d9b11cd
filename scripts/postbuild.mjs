// Makes the compiled CLI executable so `npx tmi` and the npm bin link work, and
// precompiles the validators (scripts/compile-validators.mjs; schemas/validators.ts).
import { chmodSync, existsSync } from 'node:fs';
const cli = new URL('../dist/cli/tmi.js', import.meta.url);
if (existsSync(cli)) chmodSync(cli, 0o755);
await import('./compile-validators.mjs');
