// Makes the compiled CLI executable so `npx tmi` and the npm bin link work.
import { chmodSync, existsSync } from 'node:fs';
const cli = new URL('../dist/cli/tmi.js', import.meta.url);
if (existsSync(cli)) chmodSync(cli, 0o755);
