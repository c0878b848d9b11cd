/**
 * Configuration for CLI entry points: defaults ← JSON config file ← TMI_* environment
 * variables ← command-line flags. Each part declares its options once.
 *
 * [CONFIG] Strict: a boolean option is `true` or `false` — a JSON boolean in a config
 * file, the word `true` or `false` in an environment variable, the bare flag on the
 * command line; anything else (`"false"`, `"0"`, `1`, `"yes"`) is a `BAD_CONFIG` error
 * naming the option, so a quoted "false" can never turn a check off. A string option in a
 * file is a JSON string or number; a config file is one JSON object whose keys are
 * options of the command.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

export type OptionSpec = Record<string, { type: 'string' | 'boolean'; short?: string; default?: string | boolean; env?: string; describe: string }>;

export interface Parsed {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
  help: boolean;
}

/** A configuration value that is not what its option takes; `option` names it. */
export class ConfigError extends Error {
  readonly code = 'BAD_CONFIG';
  constructor(readonly option: string, readonly source: string, detail: string) {
    super(`BAD_CONFIG option=${option} source=${source} ${detail}`);
    this.name = 'ConfigError';
  }
}

const MAX_CONFIG_BYTES = 1024 * 1024;

function show(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 64 ? s.slice(0, 61) + '...' : s;
}

function envName(k: string, v: OptionSpec[string]): string {
  return v.env ?? `TMI_${k.replace(/-/g, '_').toUpperCase()}`;
}

function readConfigFile(path: string, spec: OptionSpec): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError('config', `file ${path}`, `reason=${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  if (Buffer.byteLength(text) > MAX_CONFIG_BYTES) throw new ConfigError('config', `file ${path}`, `reason=larger than ${MAX_CONFIG_BYTES} bytes`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new ConfigError('config', `file ${path}`, `reason=not JSON (${(err as Error).message.slice(0, 80)})`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ConfigError('config', `file ${path}`, 'reason=expected one JSON object of option: value');
  }
  for (const k of Object.keys(parsed)) {
    if (!Object.hasOwn(spec, k)) throw new ConfigError(k, `file ${path}`, `reason=unknown option (known: ${Object.keys(spec).join(', ')})`);
  }
  return parsed as Record<string, unknown>;
}

/** [CONFIG] the one place a configured value becomes an option's value. */
function fromFileValue(k: string, type: 'string' | 'boolean', v: unknown, path: string): string | boolean {
  if (type === 'boolean') {
    if (typeof v !== 'boolean') throw new ConfigError(k, `file ${path}`, `value=${show(v)} expected=true or false (a JSON boolean)`);
    return v;
  }
  if (typeof v === 'string') return v;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  throw new ConfigError(k, `file ${path}`, `value=${show(v)} expected=a string or number`);
}

function fromEnvValue(k: string, type: 'string' | 'boolean', name: string, v: string): string | boolean {
  if (type === 'string') return v;
  if (v === 'true') return true;
  if (v === 'false') return false;
  throw new ConfigError(k, `env ${name}`, `value=${show(v)} expected=true or false`);
}

/** Parses argv against spec; a `--config file.json` supplies values for any option by name. */
export function parseCommandLine(argv: string[], spec: OptionSpec): Parsed {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = {
    help: { type: 'boolean', short: 'h' },
    config: { type: 'string' },
  };
  for (const [k, v] of Object.entries(spec)) options[k] = v.short ? { type: v.type, short: v.short } : { type: v.type };
  const { values, positionals } = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  const file = typeof values.config === 'string' ? values.config : undefined;
  const fileValues = file !== undefined ? readConfigFile(file, spec) : {};
  const out: Record<string, string | boolean | undefined> = {};
  for (const [k, v] of Object.entries(spec)) {
    const name = envName(k, v);
    const fromFlag = values[k] as string | boolean | undefined;
    const fromEnv = process.env[name];
    // every configured source is checked, also one that a higher source overrides
    const env = fromEnv !== undefined ? fromEnvValue(k, v.type, name, fromEnv) : undefined;
    const inFile = file !== undefined && Object.hasOwn(fileValues, k) ? fromFileValue(k, v.type, fileValues[k], file) : undefined;
    out[k] = fromFlag ?? env ?? inFile ?? v.default;
  }
  if (file !== undefined) out.config = file;
  return { values: out, positionals, help: values.help === true };
}

export function formatOptions(spec: OptionSpec): string {
  const lines = ['Options:'];
  for (const [k, v] of Object.entries(spec)) {
    const flag = `  --${k}${v.type === 'string' ? ' <value>' : ''}`;
    const def = v.default !== undefined ? ` (default ${String(v.default)})` : '';
    lines.push(`${flag.padEnd(30)} ${v.describe}${def} [env ${envName(k, v)}${v.type === 'boolean' ? '=true|false' : ''}]`);
  }
  lines.push(`${'  --config <file.json>'.padEnd(30)} read any option above from a JSON file (booleans as JSON true/false)`);
  lines.push(`${'  -h, --help'.padEnd(30)} this text`);
  return lines.join('\n');
}
