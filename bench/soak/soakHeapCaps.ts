/**
 * The heap caps of the soak's broker and chain processes: those `tmi up` gives its edge and
 * core (platform/partHeapCaps.ts) unless SOAK_HEAP_CAPS says otherwise: `off` (none) or
 * `<edge MiB>,<core MiB>` (to try other caps).
 */
import { PART_HEAP_CAP_MB, heapCapOf, type Part } from '../../platform/partHeapCaps.js';

export function soakHeapCaps(env = process.env.SOAK_HEAP_CAPS): Record<Part, number> | undefined {
  if (env === 'off') return undefined;
  if (env === undefined || env === '') return { ...PART_HEAP_CAP_MB };
  const [edge, core, more] = env.split(',');
  if (more !== undefined || core === undefined) throw new Error(`BAD_ENV SOAK_HEAP_CAPS=${env} (off, or <edge MiB>,<core MiB>)`);
  return { edge: heapCapOf(edge, 'SOAK_HEAP_CAPS edge'), core: heapCapOf(core, 'SOAK_HEAP_CAPS core') };
}
