/**
 * The OS components that some tests need (DESIGN §9: everything else comes from `npm ci`),
 * how to find each, and the one rule for a test whose component is missing:
 *
 *   [OSC-1] without CI a test that needs a missing component is skipped, with a message
 *           naming the component and its OS package;
 *   [OSC-2] with CI set (CI=true, as CI services set it), it is not skipped: it runs and
 *           fails at once with MISSING_OS_COMPONENT naming the component — a CI run cannot
 *           pass without the parts it is meant to test;
 *   [OSC-3] the browser is found one way everywhere (tests, `.ci/run`): $TMI_BROWSER when
 *           set (a path; if it is not an executable file, there is no browser), else the
 *           first of chromium, chromium-browser, google-chrome on $PATH;
 *   [OSC-4] a Python module (the SunSpec tests' Modbus device) is found with a python3 that
 *           imports it: $TMI_PYTHON when set, else the first of /usr/bin/python3 (where apt
 *           installs the Debian packages) and python3 on $PATH that imports every module a
 *           test needs; that interpreter runs the test's Python.
 *
 * Usage in a test:
 *   test('…', { skip: skipWithout('openssl') }, () => { requireComponent('openssl'); … });
 *   const browser = requireComponent('chromium');   // its executable path
 *   const python = requirePython('python3-pymodbus', 'python3-serial');   // a python3 that imports both
 *
 * As a command (used by `.ci/run`, after `npm ci` has built it):
 *   node dist/testkit/osComponents.js missing    prints the OS package of each missing component, one a line
 *   node dist/testkit/osComponents.js browser    prints the browser's path; exit 1 when there is none
 *   node dist/testkit/osComponents.js check      one line per component; exit 1 naming the missing ones
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export type ComponentName =
  | 'mosquitto-clients'
  | 'openssl'
  | 'chromium'
  | 'redis-server'
  | 'socat'
  | 'python3-pymodbus'
  | 'python3-serial'
  | 'python3-serial-asyncio';

interface ComponentSpec {
  /** the Debian/Ubuntu package that provides it */
  aptPackage: string;
  /** what a test uses */
  what: string;
  /** executables that must all be found on PATH (the browser has its own lookup) */
  commands: string[];
  /** [OSC-4] Python modules that a python3 must import */
  python?: string[];
}

export const OS_COMPONENTS: Record<ComponentName, ComponentSpec> = {
  'mosquitto-clients': { aptPackage: 'mosquitto-clients', what: 'third-party MQTT clients mosquitto_pub and mosquitto_sub', commands: ['mosquitto_pub', 'mosquitto_sub'] },
  openssl: { aptPackage: 'openssl', what: 'openssl, to make TLS certificates', commands: ['openssl'] },
  chromium: { aptPackage: 'chromium', what: 'a headless browser (Chromium) for the dashboard tests', commands: [] },
  'redis-server': { aptPackage: 'redis-server', what: 'redis-server, for brokers sharing Redis', commands: ['redis-server'] },
  socat: { aptPackage: 'socat', what: 'socat, for a virtual serial pair (the SunSpec Modbus RTU tests)', commands: ['socat'] },
  'python3-pymodbus': { aptPackage: 'python3-pymodbus', what: 'pymodbus, the independent SunSpec Modbus device of the sunspec adapter tests', commands: [], python: ['pymodbus'] },
  'python3-serial': { aptPackage: 'python3-serial', what: 'pyserial, for pymodbus on a serial port', commands: [], python: ['serial'] },
  // pymodbus 3.0 (Debian bookworm) imports it in its server module, TCP included; Debian only recommends it
  'python3-serial-asyncio': { aptPackage: 'python3-serial-asyncio', what: 'pyserial-asyncio, which pymodbus 3.0\'s server module imports', commands: [], python: ['serial_asyncio'] },
};

/** [OSC-4] the python3 interpreters tried, in order */
export function pythonCandidates(env: NodeJS.ProcessEnv = process.env): string[] {
  const explicit = env.TMI_PYTHON;
  if (explicit !== undefined && explicit !== '') return [explicit];
  const onPath = whichCommand('python3', env.PATH ?? '');
  return ['/usr/bin/python3', ...(onPath !== undefined && onPath !== '/usr/bin/python3' ? [onPath] : [])];
}

const imports = new Map<string, boolean>();
/** whether `python` imports every one of `modules` (cached per process) */
function pythonImports(python: string, modules: readonly string[]): boolean {
  const key = `${python}\0${modules.join(',')}`;
  let ok = imports.get(key);
  if (ok === undefined) {
    const r = spawnSync(python, ['-c', modules.map((m) => `import ${m}`).join('; ')], { stdio: 'ignore', timeout: 20_000 });
    ok = r.status === 0;
    imports.set(key, ok);
  }
  return ok;
}

/** [OSC-4] the first python3 that imports every module of these components, or undefined. */
export function findPython(names: readonly ComponentName[], env: NodeJS.ProcessEnv = process.env): string | undefined {
  const modules = names.flatMap((n) => OS_COMPONENTS[n].python ?? []);
  return pythonCandidates(env).find((py) => pythonImports(py, modules));
}

export const BROWSER_NAMES = ['chromium', 'chromium-browser', 'google-chrome'] as const;

function isExecutableFile(p: string): boolean {
  try {
    if (!statSync(p).isFile()) return false;
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The first executable named `name` on $PATH (or `path`), like `command -v`. */
export function whichCommand(name: string, path = process.env.PATH ?? ''): string | undefined {
  for (const dir of path.split(delimiter)) {
    if (dir === '') continue;
    const p = join(dir, name);
    if (isExecutableFile(p)) return p;
  }
  return undefined;
}

/** [OSC-3] the browser's executable path, or undefined. */
export function findBrowser(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const explicit = env.TMI_BROWSER;
  if (explicit !== undefined && explicit !== '') return isExecutableFile(explicit) ? explicit : undefined;
  for (const name of BROWSER_NAMES) {
    const p = whichCommand(name, env.PATH ?? '');
    if (p !== undefined) return p;
  }
  return undefined;
}

/**
 * The path of the component's (first) executable, or undefined when any is missing; for a
 * Python module, the python3 that imports it.
 */
export function findComponent(name: ComponentName, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (name === 'chromium') return findBrowser(env);
  if (OS_COMPONENTS[name].python) return findPython([name], env);
  let first: string | undefined;
  for (const cmd of OS_COMPONENTS[name].commands) {
    const p = whichCommand(cmd, env.PATH ?? '');
    if (p === undefined) return undefined;
    first ??= p;
  }
  return first;
}

/** CI is set as CI services set it (any value but '', '0', 'false'). */
export function inCi(env: NodeJS.ProcessEnv = process.env): boolean {
  const v = (env.CI ?? '').trim().toLowerCase();
  return v !== '' && v !== '0' && v !== 'false';
}

export function missingMessage(name: ComponentName, env: NodeJS.ProcessEnv = process.env): string {
  const c = OS_COMPONENTS[name];
  const where = name === 'chromium'
    ? (env.TMI_BROWSER ? `TMI_BROWSER=${env.TMI_BROWSER} is not an executable file` : `none of ${BROWSER_NAMES.join(', ')} on PATH`)
    : c.python
      ? `${pythonCandidates(env).join(', ')} cannot import ${c.python.join(', ')}`
      : `${c.commands.filter((x) => whichCommand(x, env.PATH ?? '') === undefined).join(', ')} not on PATH`;
  return `${name} is missing: ${c.what} (${where}; apt-get install -y ${c.aptPackage})`;
}

export class MissingComponentError extends Error {
  readonly code = 'MISSING_OS_COMPONENT';
  constructor(readonly component: ComponentName, message: string) {
    super(`MISSING_OS_COMPONENT ${message}${inCi() ? ' — CI is set, so this test fails instead of skipping' : ''}`);
  }
}

/**
 * [OSC-1] [OSC-2] the node:test `skip` option of a test that needs these components:
 * false when all are present, and under CI (the test then fails in requireComponent);
 * else the message naming what is missing.
 */
export function skipWithout(...names: ComponentName[]): string | false {
  const missing = names.filter((n) => findComponent(n) === undefined);
  if (missing.length === 0 || inCi()) return false;
  return missing.map((n) => missingMessage(n)).join('; ') + '; skipped';
}

/** [OSC-2] the component's executable path; throws MissingComponentError naming it when missing. */
export function requireComponent(name: ComponentName): string {
  const p = findComponent(name);
  if (p === undefined) throw new MissingComponentError(name, missingMessage(name));
  return p;
}

/**
 * [OSC-2] [OSC-4] the python3 that imports the modules of all these components; throws
 * MissingComponentError naming the first one missing (or, when each is found but by
 * different interpreters, all of them).
 */
export function requirePython(...names: ComponentName[]): string {
  for (const n of names) requireComponent(n);
  const p = findPython(names);
  if (p === undefined) throw new MissingComponentError(names[0] as ComponentName, `no one python3 imports all of ${names.join(', ')} (tried ${pythonCandidates().join(', ')})`);
  return p;
}

function main(argv: string[]): number {
  const names = Object.keys(OS_COMPONENTS) as ComponentName[];
  switch (argv[0]) {
    case 'browser': {
      const p = findBrowser();
      if (p === undefined) {
        process.stderr.write(`${missingMessage('chromium')}\n`);
        return 1;
      }
      process.stdout.write(`${p}\n`);
      return 0;
    }
    case 'missing':
      for (const n of names) if (findComponent(n) === undefined) process.stdout.write(`${OS_COMPONENTS[n].aptPackage}\n`);
      return 0;
    case 'check': {
      const missing = names.filter((n) => findComponent(n) === undefined);
      for (const n of names) process.stdout.write(`${n}: ${findComponent(n) ?? 'MISSING'}\n`);
      if (missing.length) {
        process.stderr.write(missing.map((n) => missingMessage(n)).join('\n') + '\n');
        return 1;
      }
      return 0;
    }
    default:
      process.stderr.write('usage: node dist/testkit/osComponents.js browser|missing|check\n');
      return 2;
  }
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) process.exitCode = main(process.argv.slice(2));
