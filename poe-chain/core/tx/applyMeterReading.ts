/**
 * meter-reading (DESIGN §7, §8): a pseudonym's signed energy figures for one metering
 * interval; they feed the election (interval e − 2) and settlement (delivery interval).
 *   [TX-R1] the interval is exactly one metering interval of the chain's grid   BAD_INTERVAL
 *   [TX-R2] it has ended at block time                                          READING_NOT_ENDED
 *   [TX-R3] it is not older than readingRetentionIntervals                      READING_TOO_OLD
 *   [TX-R4] signer = address (codec) holds a certificate covering the interval   NOT_CERTIFIED / CERT_NOT_VALID
 *   [TX-R5] the address is not revoked                                          ADDRESS_REVOKED
 *   [TX-R6] per address, interval and seq strictly increase                     READING_OUT_OF_ORDER
 */
import type { Envelope } from '../../../schemas/types.js';
import { TxError } from '../chainError.js';
import { epochAt, epochOfInterval, epochStart } from '../genesis.js';
import type { TxContext } from './txContext.js';

export function applyMeterReading(env: Envelope<'meter-reading'>, ctx: TxContext): void {
  const d = ctx.draft;
  const g = d.genesis;
  const p = env.parameters;
  const addr = p.address;
  const interval = epochOfInterval(g, p.interval);
  if (interval === undefined) throw new TxError('BAD_INTERVAL', { start: p.interval.start, end: p.interval.end, intervalMs: g.intervalMs });
  const start = epochStart(g, interval);
  const end = epochStart(g, interval + 1);
  if (end > ctx.time) throw new TxError('READING_NOT_ENDED', { interval, end: new Date(end).toISOString() });
  const oldest = epochAt(g, ctx.time) - g.readingRetentionIntervals;
  if (interval < oldest) throw new TxError('READING_TOO_OLD', { interval, oldest });
  const cert = d.s.certs.get(addr);
  if (cert === undefined) throw new TxError('NOT_CERTIFIED', { address: addr });
  if (cert.validFrom > start || end > cert.validTo) throw new TxError('CERT_NOT_VALID', { address: addr, interval });
  if (d.s.revoked.has(addr)) throw new TxError('ADDRESS_REVOKED', { address: addr });
  const head = d.s.readingHeads.get(addr);
  if (head !== undefined && (interval <= head.interval || p.seq <= head.seq)) {
    throw new TxError('READING_OUT_OF_ORDER', { address: addr, interval, seq: p.seq, lastInterval: head.interval, lastSeq: head.seq });
  }
  d.s.readings.set(`${addr}|${interval}`, {
    producedWh: p.producedWh,
    consumedWh: p.consumedWh,
    chargedWh: p.chargedWh,
    dischargedWh: p.dischargedWh,
    seq: p.seq,
  });
  d.s.readingHeads.set(addr, { interval, seq: p.seq });
}
