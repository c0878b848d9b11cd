/**
 * Test helper, preloaded with `node --import <this file>`: appends to the file named by
 * TMI_RECORD_LOADS the URL of every module the process loads — ES modules through a
 * resolve hook (which runs in the hooks thread), CommonJS modules from require.cache at exit.
 */
import { appendFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';
import { pathToFileURL } from 'node:url';
import { isMainThread } from 'node:worker_threads';

const out = process.env.TMI_RECORD_LOADS;

type Resolved = { url: string };
type NextResolve = (specifier: string, context: unknown) => Promise<Resolved>;

/** The resolve hook: records what it resolved, changes nothing. */
export async function resolve(specifier: string, context: unknown, nextResolve: NextResolve): Promise<Resolved> {
  const r = await nextResolve(specifier, context);
  if (out) appendFileSync(out, r.url + '\n');
  return r;
}

if (isMainThread && out) {
  register(import.meta.url);
  const cache = createRequire(import.meta.url).cache;
  process.on('exit', () => {
    const urls = Object.keys(cache).map((f) => pathToFileURL(f).href);
    if (urls.length) appendFileSync(out, urls.join('\n') + '\n');
  });
}
