/**
 * Configuration for CLI entry points: defaults ← JSON config file ← TMI_* environment
 * variables ← command-line flags. Each part declares its options once.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

export type OptionSpec = Record<string, { type: 'string' | 'boolean'; short?: string; default?: string | boolean; env?: string; describe: string }>;

export interface Parsed {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
  help: boolean;
}

/** Parses argv against spec; a `--config file.json` supplies values for any option by name. */
export function parseCommandLine(argv: string[], spec: OptionSpec): Parsed {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = {
    help: { type: 'boolean', short: 'h' },
    config: { type: 'string' },
  };
  for (const [k, v] of Object.entries(spec)) options[k] = v.short ? { type: v.type, short: v.short } : { type: v.type };
  const { values, positionals } = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  let fileValues: Record<string, unknown> = {};
  if (typeof values.config === 'string') {
    fileValues = JSON.parse(readFileSync(values.config, 'utf8')) as Record<string, unknown>;
  }
  const out: Record<string, string | boolean | undefined> = {};
  for (const [k, v] of Object.entries(spec)) {
    const envName = v.env ?? `TMI_${k.replace(/-/g, '_').toUpperCase()}`;
    const fromFlag = values[k] as string | boolean | undefined;
    const fromEnv = process.env[envName];
    const fromFile = fileValues[k];
    if (fromFlag !== undefined) out[k] = fromFlag;
    else if (fromEnv !== undefined) out[k] = v.type === 'boolean' ? fromEnv === '1' || fromEnv === 'true' : fromEnv;
    else if (fromFile !== undefined) out[k] = v.type === 'boolean' ? Boolean(fromFile) : String(fromFile);
    else out[k] = v.default;
  }
  if (typeof values.config === 'string') out.config = values.config;
  return { values: out, positionals, help: values.help === true };
}

export function formatOptions(spec: OptionSpec): string {
  const lines = ['Options:'];
  for (const [k, v] of Object.entries(spec)) {
    const flag = `  --${k}${v.type === 'string' ? ' <value>' : ''}`;
    const env = v.env ?? `TMI_${k.replace(/-/g, '_').toUpperCase()}`;
    const def = v.default !== undefined ? ` (default ${String(v.default)})` : '';
    lines.push(`${flag.padEnd(30)} ${v.describe}${def} [env ${env}]`);
  }
  lines.push(`${'  --config <file.json>'.padEnd(30)} read any option above from a JSON file`);
  lines.push(`${'  -h, --help'.padEnd(30)} this text`);
  return lines.join('\n');
}
