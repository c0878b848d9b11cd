/**
 * Preloaded (`node --import`) into the HEM that `npm run check:arm64` runs under arm64
 * emulation. It reports from inside that process, on stderr as one JSON line each:
 * the architecture and Node version, V8's heap figures, RSS, and the native addons
 * (`.node` files) that the process has loaded, taken from the diagnostic report's
 * shared-object list. It writes one line every TMI_PROBE_EVERY_MS (default 5 s) and one
 * at exit. It changes nothing in the HEM.
 */
import v8 from 'node:v8';

const MB = 1024 * 1024;
const round = (n) => Math.round((n / MB) * 10) / 10;

function snapshot(tag) {
  const h = v8.getHeapStatistics();
  const rep = process.report.getReport();
  const addons = (rep.sharedObjects ?? []).filter((p) => p.endsWith('.node'));
  const line = {
    probe: tag,
    arch: process.arch,
    node: process.version,
    uptimeS: Math.round(process.uptime()),
    heapMB: {
      used: round(h.used_heap_size),
      total: round(h.total_heap_size),
      physical: round(h.total_physical_size),
      limit: round(h.heap_size_limit),
      malloced: round(h.malloced_memory),
      external: round(h.external_memory),
    },
    rssMB: round(process.memoryUsage.rss()),
    addons,
  };
  process.stderr.write(`${JSON.stringify(line)}\n`);
}

setInterval(() => snapshot('tick'), Number(process.env.TMI_PROBE_EVERY_MS ?? 5000)).unref();
process.on('exit', () => snapshot('exit'));
