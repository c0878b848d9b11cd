import type { Progress } from '../../platform/runSimulation.js';
import { formatOptions, parseCommandLine, type OptionSpec } from '../config.js';
import type { Command } from '../command.js';

const spec: OptionSpec = {
  homes: { type: 'string', describe: 'number of homes (HEM processes)', default: '24' },
  days: { type: 'string', describe: 'simulated days of 96 intervals of 15 min', default: '1' },
  intervals: { type: 'string', describe: 'run only this many 15-minute intervals (a short simulation)' },
  seed: { type: 'string', describe: 'seed of the generated community', default: '42' },
  'interval-ms': { type: 'string', describe: 'wall-clock ms per 15-minute interval (speed)', default: '2000' },
  date: { type: 'string', describe: 'first simulated day, YYYY-MM-DD (Sydney summer by default)', default: '2025-01-15' },
  data: { type: 'string', describe: 'data directory (default: a fresh ./data/sim-<time>)' },
  out: { type: 'string', describe: 'report folder', default: 'report' },
  csv: { type: 'string', describe: 'metered data CSV (format of the shared Ausgrid data) replayed by every home' },
  serve: { type: 'boolean', describe: 'after the report (and the chain re-verified from disk), serve the dashboard of the day until Ctrl-C', default: false },
  port: { type: 'string', describe: 'analytics/dashboard port (0 = any)', default: '8480' },
  'log-level': { type: 'string', describe: 'platform log level (stderr)', default: 'warn' },
};

function int(v: unknown, name: string, min: number, max: number): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`BAD_OPTION --${name}=${String(v)} (an integer ${min}–${max})`);
  return n;
}

function bar(p: Progress): string {
  const width = 30;
  const done = Math.round((p.interval / Math.max(1, p.intervals)) * width);
  return `[${'#'.repeat(done)}${'.'.repeat(width - done)}] ${p.interval}/${p.intervals} intervals · ${p.blocks} blocks · ${p.auctions} auctions · ${(p.tradedWh / 1000).toFixed(1)} kWh awarded · ${p.readingsOnChain} readings on chain`;
}

export const simulate: Command = {
  name: 'simulate',
  help: `Usage: tmi simulate [options]

Runs the whole platform — registry, broker, chain nodes, aggregator, analytics — and a
community of homes, each a real HEM process with a simulated home (seeded PV, load and
battery), over real MQTT on loopback, for compressed simulated days. The aggregator's
deviations from its day-ahead schedule drive auctions; the chain records bids, results,
readings and payments; settlement pays for delivered energy. At the end it stops the
platform, re-verifies the chain from disk block by block, computes every figure of
<out>/summary.json and <out>/index.html (charts) from those verified blocks, prints a
short summary and exits (1 when the chain does not verify); with --serve the dashboard of
the day is then served from the stored data until Ctrl-C.

${formatOptions(spec)}
`,
  async run(argv) {
    const [{ pino }, { runSimulation }, { formatCents }] = await Promise.all([import('pino'), import('../../platform/runSimulation.js'), import('../../platform/simulationReport.js')]);
    const { values: v } = parseCommandLine(argv, spec);
    const homes = int(v.homes, 'homes', 1, 200);
    const days = int(v.days, 'days', 1, 30);
    const intervalMs = int(v['interval-ms'], 'interval-ms', 500, 900_000);
    if (!/^\d{4}-\d{2}-\d{2}$/.test(String(v.date))) throw new Error(`BAD_OPTION --date=${String(v.date)} (YYYY-MM-DD)`);
    const dataDir = typeof v.data === 'string' ? v.data : `./data/sim-${new Date().toISOString().replace(/[:.]/g, '-')}`;
    const tty = process.stderr.isTTY;
    let last = 0;
    const log = pino({ level: String(v['log-level']) }, pino.destination(2));
    process.stderr.write(`tmi simulate: ${homes} homes, ${days} day(s), ${intervalMs} ms per interval (≈ ${Math.round((days * 96 * intervalMs) / 1000)} s), data in ${dataDir}\n`);
    const r = await runSimulation({
      homes, days, intervalMs,
      ...(v.intervals !== undefined ? { intervals: int(v.intervals, 'intervals', 1, 30 * 96) } : {}),
      onStarted: (urls) => process.stderr.write(`dashboard ${urls.analytics ?? '(none)'}/\naggregator operator API ${urls.aggregator ?? '(none)'} (operator token: ${dataDir}/aggregator/operator-token)\n`),
      seed: int(v.seed, 'seed', 0, 1_000_000),
      date: String(v.date),
      dataDir,
      outDir: String(v.out),
      ...(typeof v.csv === 'string' ? { csv: v.csv } : {}),
      serve: v.serve === true,
      analyticsPort: int(v.port, 'port', 0, 65535),
      log,
      progress: (p) => {
        if (tty) process.stderr.write(`\r${bar(p)}  `);
        else if (Date.now() - last > 15_000) {
          last = Date.now();
          process.stderr.write(bar(p) + '\n');
        }
      },
    });
    if (tty) process.stderr.write('\n');
    const s = r.report.summary;
    const lines = [
      '',
      `source            ${s.source}`,
      `chain             ${s.chain.blocks} blocks, ${s.chain.txs} txs, ${s.chain.producers.length} producers; re-verified from disk: ${r.chainVerified.ok ? 'yes' : `NO (${r.chainVerified.error ?? ''})`}`,
      `readings          ${s.readings.onChain} on chain from ${s.readings.pseudonyms} pseudonyms (${s.simulation.homesSimulated} homes simulated)`,
      `auctions          ${s.auctions.total} (${Object.entries(s.auctions.byStatus).filter(([, n]) => n > 0).map(([k, n]) => `${k} ${n}`).join(', ') || 'none'}); ${s.auctions.bidsOnChain} bids on chain, ${s.auctions.bidsAwarded} awarded`,
      `energy awarded    ${(s.auctions.awardedWh / 1000).toFixed(2)} kWh at a volume-weighted award price of ${s.auctions.volumeWeightedAwardPriceMcPerKWh === null ? '–' : `${(s.auctions.volumeWeightedAwardPriceMcPerKWh / 1000).toFixed(3)} ¢/kWh`}`,
      `settlements       ${s.payments.settlements}: aggregator → homes ${formatCents(s.payments.paidByAggregatorToHomesMc)}, homes → aggregator ${formatCents(s.payments.paidByHomesToAggregatorMc)} + ${formatCents(s.payments.penaltiesPaidByHomesMc)} penalties`,
      `p2p market        ${s.p2p.intervalsTraded} of ${s.p2p.intervalsCleared} intervals traded, ${(s.p2p.tradedWh / 1000).toFixed(2)} kWh in ${s.p2p.trades} fills by ${s.p2p.homesTrading} homes; community self-sufficiency ${s.p2p.communitySelfSufficiency === null ? '–' : (s.p2p.communitySelfSufficiency * 100).toFixed(1) + ' %'}`,
      `wallets           ${s.wallets.count}, ${s.wallets.conserved ? 'conserved' : 'NOT conserved'} (Σ = genesis + rewards minted − forfeited)`,
      `  per interval     ${s.settlementsPerInterval.length} delivery intervals settled${s.settlementsPerInterval.length ? `, e.g. ${s.settlementsPerInterval[0]!.interval}: ${s.settlementsPerInterval[0]!.awards} awards in ${s.settlementsPerInterval[0]!.auctions} auction(s), ${s.settlementsPerInterval[0]!.deliveredWh} of ${s.settlementsPerInterval[0]!.awardedWh} Wh delivered` : ''} (table in the report)`,
      `self-consumption  ${s.energy.selfConsumption === null ? '–' : (s.energy.selfConsumption * 100).toFixed(1) + ' %'}; best CPF mean ${s.cpf.meanBestCpf?.toFixed(3) ?? '–'}`,
      `report            ${r.reportDir}/index.html and summary.json`,
      `data              ${r.dataDir} (npx tmi chain verify --data ${r.dataDir})`,
      ...(r.dashboard ? [`dashboard         ${r.dashboard}/  (Ctrl-C to stop)`] : []),
      '',
    ];
    process.stdout.write(lines.join('\n'));
    if (r.stop) {
      await new Promise<void>((resolve) => {
        process.once('SIGINT', () => resolve());
        process.once('SIGTERM', () => resolve());
      });
      await r.stop();
    }
    return r.chainVerified.ok ? 0 : 1;
  },
};
