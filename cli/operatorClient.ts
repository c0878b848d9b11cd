/** The aggregator operator API as the CLI calls it ([ROLES]: the operator token, never the registry's). */
import { readFileSync, existsSync } from 'node:fs';
import type { OptionSpec } from './config.js';

export const operatorClientSpec: OptionSpec = {
  url: { type: 'string', describe: 'aggregator operator API', default: 'http://127.0.0.1:8471' },
  'operator-token': { type: 'string', describe: "the aggregator operator API's token, or a file holding it (not the registry admin token)", default: './data/aggregator/operator-token', env: 'TMI_OPERATOR_TOKEN' },
};

/** The token itself, or the content of the file it names. */
export function operatorToken(v: unknown): string {
  const t = String(v ?? '');
  return existsSync(t) ? readFileSync(t, 'utf8').trim() : t;
}

/** One call; prints the JSON answer on stdout (0) or the error on stderr (1), prefixed with `who`. */
export async function callOperatorApi(who: string, url: string, token: string, method: string, body?: unknown): Promise<number> {
  let res: Response;
  try {
    res = await fetch(url, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
  } catch (err) {
    process.stderr.write(`${who}: cannot reach ${url}: ${(err as Error).message}\n`);
    return 1;
  }
  const text = await res.text();
  if (!res.ok) {
    process.stderr.write(`${who}: ${res.status} ${text}\n`);
    return 1;
  }
  process.stdout.write(text.endsWith('\n') ? text : text + '\n');
  return 0;
}
