/**
 * A bounded wait: true once `p` resolves, false if `ms` pass first (then `p` is left to
 * settle on its own); rejects if `p` rejects first. The timer is cleared either way, so it
 * never holds the process open. For stops that must end: an UNSUBACK, an MQTT client's end,
 * a work queue's drain.
 */
export async function settlesWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  let bound: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      p.then(() => true),
      new Promise<false>((resolve) => (bound = setTimeout(() => resolve(false), Math.max(0, ms)))),
    ]);
  } finally {
    clearTimeout(bound);
  }
}
