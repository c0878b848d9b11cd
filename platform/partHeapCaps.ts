/**
 * The V8 heap caps of the platform's two parts, as `tmi up` sets them (cli/commands/up.ts)
 * and as the soak starts its processes of the same parts (bench/soak.ts):
 * - edge: the registry and the broker;
 * - core: the aggregator's chain node, the aggregator and analytics.
 * The cap is on V8's old generation; a process's RSS is that heap, its young generation
 * (≈ 48 MB) and native memory (≈ 130 MB for the edge with 10,000 connections: the node
 * binary, sockets, LevelDB). Targets: edge ≤ 600 MB RSS, core ≤ 1 GB.
 */
export const PART_HEAP_CAP_MB = { edge: 384, core: 768 } as const;

export type Part = keyof typeof PART_HEAP_CAP_MB;

/** `--part-heap-mb` style values: a whole number of MiB, at least 64 */
export function heapCapOf(v: unknown, name: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 64 || n > 65_536) throw new Error(`BAD_OPTION --${name}=${String(v)} (MiB of V8 heap, an integer 64-65536)`);
  return n;
}

/**
 * [SESSION-CAP] under an edge heap cap: the queues of all limited broker sessions together
 * get a quarter of the edge's heap (96 MiB of payload at the default 384), so that a
 * flood of offline or never-acknowledging sessions fills its queue limit long before the
 * heap (each queued message also costs its object, ≈ half its payload again). Without a cap
 * the broker's own default applies (256 MiB).
 */
export const sessionQueueTotalMBFor = (edgeHeapMB: number): number => Math.max(16, Math.floor(edgeHeapMB / 4));
