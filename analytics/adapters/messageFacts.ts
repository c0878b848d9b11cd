/**
 * Decoded wire messages → facts. A block's transactions (signed envelopes) are decoded
 * again and mapped like the same messages seen on their own topics, with the block's
 * height; the reducer's keys make a message seen twice (topic and block) count once.
 *
 * Sealed bids [SEALED]: counted at once as sealed (a commitment); when the bidder's
 * bid-reveal opens it, the buffered sealed bid is emitted again, opened. The buffer is
 * bounded (oldest auctions dropped first).
 */
import type { AnyEnvelope, Envelope, OpenBid } from '../../schemas/types.js';
import { energyToWh, priceToMillicentsPerKWh } from '../../wire/quantities.js';
import { blockHash } from '../../poe-chain/core/blockHash.js';
import { revealOpens } from '../../poe-chain/core/auction/sealedBid.js';
import type { BidFact, Fact } from '../facts.js';

export interface FactMapperOptions {
  /** decodes an embedded envelope (a block's transaction); throws on a bad one */
  decodeValue: (value: unknown) => AnyEnvelope;
  /** most sealed bids held waiting for their auction's key (default 100,000) */
  maxSealed?: number;
}

export interface FactMapperStats {
  /** messages mapped, by operation */
  operations: Record<string, number>;
  /** messages that gave no fact, by operation (state, error, certificate, …) */
  ignored: Record<string, number>;
  /** embedded transactions that failed to decode, by error code */
  badTxs: Record<string, number>;
  sealedHeld: number;
  sealedOpened: number;
  sealedUnopenable: number;
  sealedDropped: number;
}

export interface FactMapper {
  /** Facts of one decoded message; `height` when it was taken from a block. */
  facts(env: AnyEnvelope, height?: number): Fact[];
  readonly stats: FactMapperStats;
}

const time = (iso: string): number => Date.parse(iso);

function inc(m: Record<string, number>, k: string): void {
  m[k] = (m[k] ?? 0) + 1;
}

export function createFactMapper(o: FactMapperOptions): FactMapper {
  const maxSealed = o.maxSealed ?? 100_000;
  /** auctionId → (bid id → the sealed envelope) */
  const sealed = new Map<string, Map<string, { env: Envelope<'bid-offer'>; height: number | undefined }>>();
  let sealedCount = 0;
  /** [SEALED] `auctionId|address` → the revealed bid (insertion order = age), for a sealed bid seen again later */
  const revealed = new Map<string, Envelope<'bid-reveal'>['parameters']>();
  const stats: FactMapperStats = { operations: {}, ignored: {}, badTxs: {}, sealedHeld: 0, sealedOpened: 0, sealedUnopenable: 0, sealedDropped: 0 };

  function bidFact(env: Envelope<'bid-offer'>, height: number | undefined, revealed?: OpenBid): BidFact {
    const p = env.parameters;
    const base: BidFact = {
      kind: 'bid', auctionId: p.auctionId, address: p.address, reqId: env.reqId, feeder: p.feeder, cpf: p.cpf,
      sealed: p.sealed !== undefined, time: time(env.date), ...(height !== undefined ? { height } : {}),
    };
    const open = p.bid ?? revealed;
    if (open === undefined) return base;
    return { ...base, type: open.type, energyWh: energyToWh(open.energy), priceMcPerKWh: priceToMillicentsPerKWh(open.price) };
  }

  function holdSealed(env: Envelope<'bid-offer'>, height: number | undefined): void {
    const auctionId = env.parameters.auctionId;
    let m = sealed.get(auctionId);
    if (m === undefined) {
      m = new Map();
      sealed.set(auctionId, m);
    }
    const k = `${env.parameters.address}|${env.reqId}`;
    if (!m.has(k)) sealedCount++;
    m.set(k, { env, height: height ?? m.get(k)?.height });
    while (sealedCount > maxSealed) {
      const oldest = sealed.keys().next().value as string;
      const dropped = sealed.get(oldest)?.size ?? 0;
      sealed.delete(oldest);
      sealedCount -= dropped;
      stats.sealedDropped += dropped;
    }
    stats.sealedHeld = sealedCount;
  }


  function facts(env: AnyEnvelope, height?: number): Fact[] {
    inc(stats.operations, env.operation);
    switch (env.operation) {
      case 'meter-reading': {
        const p = env.parameters;
        return [{
          kind: 'reading', address: p.address, intervalStart: time(p.interval.start), intervalEnd: time(p.interval.end),
          producedWh: p.producedWh, consumedWh: p.consumedWh, chargedWh: p.chargedWh, dischargedWh: p.dischargedWh,
          socPermille: p.socPermille, ...(height !== undefined ? { height } : {}),
        }];
      }
      case 'bid-offer': {
        const p = env.parameters;
        if (p.sealed !== undefined) {
          const r = revealed.get(`${p.auctionId}|${p.address}`);
          if (r !== undefined && revealOpens(p.sealed, r)) return [bidFact(env, height, r.bid)];
          holdSealed(env, height);
        }
        return [bidFact(env, height)];
      }
      case 'bid-reveal': {
        // [SEALED] the bidder opens its held sealed bid
        const p = env.parameters;
        revealed.delete(`${p.auctionId}|${p.address}`);
        revealed.set(`${p.auctionId}|${p.address}`, p);
        while (revealed.size > maxSealed) revealed.delete(revealed.keys().next().value as string);
        const held = sealed.get(p.auctionId);
        for (const [k, h] of held ?? []) {
          if (h.env.parameters.address !== p.address) continue;
          const s = h.env.parameters.sealed;
          if (s === undefined || !revealOpens(s, p)) {
            stats.sealedUnopenable++;
            return [];
          }
          held!.delete(k);
          sealedCount--;
          stats.sealedHeld = sealedCount;
          stats.sealedOpened++;
          return [bidFact(h.env, h.height, p.bid)];
        }
        return [];
      }
      case 'auction-open': {
        const p = env.parameters;
        return [{
          kind: 'auction-open', auctionId: p.auctionId, side: p.side, energyWh: energyToWh(p.energy),
          limitPriceMcPerKWh: priceToMillicentsPerKWh(p.limitPrice), deliveryStart: time(p.delivery.start),
          deliveryEnd: time(p.delivery.end), closesAt: time(p.closesAt), pricing: p.pricing, sealed: p.sealed, time: time(env.date),
        }];
      }
      case 'auction-close': {
        const p = env.parameters;
        return [{ kind: 'auction-close', auctionId: p.auctionId, time: time(env.date) }];
      }
      case 'auction-result': {
        const p = env.parameters;
        return [{
          kind: 'auction-result', auctionId: p.auctionId, status: p.status,
          ...(p.clearingPriceMillicentsPerKWh !== undefined ? { clearingPriceMcPerKWh: p.clearingPriceMillicentsPerKWh } : {}),
          awards: p.awards.map((a) => ({ address: a.address, energyWh: a.energyWh, priceMcPerKWh: a.priceMillicentsPerKWh })),
          excludedCount: p.excluded?.length ?? 0,
          ...(p.height !== undefined ? { height: p.height } : height !== undefined ? { height } : {}),
          time: time(env.date),
        }];
      }
      case 'schedule': {
        const p = env.parameters;
        return [{
          kind: 'schedule', day: p.day, intervalMinutes: p.intervalMinutes, netLoadWh: [...p.netLoadWh], time: time(env.date),
          ...(p.start !== undefined ? { startMs: Date.parse(p.start) } : {}),
          ...(p.intervalMs !== undefined ? { stepMs: p.intervalMs } : {}),
        }];
      }
      case 'block': {
        const { header, txs } = env.parameters;
        const out: Fact[] = [{
          kind: 'block', height: header.height, slot: header.slot, epoch: header.epoch, hash: blockHash(header),
          producer: header.producer, txCount: txs.length, time: time(env.date),
        }];
        for (const tx of txs) out.push(...embedded(tx, header.height));
        return out;
      }
      case 'tx':
        return embedded(env.parameters.tx, height);
      case 'sync-response': {
        const out: Fact[] = [];
        for (const b of env.parameters.blocks) out.push(...embedded(b, undefined));
        return out;
      }
      default:
        inc(stats.ignored, env.operation);
        return [];
    }
  }

  function embedded(value: unknown, height: number | undefined): Fact[] {
    let inner: AnyEnvelope;
    try {
      inner = o.decodeValue(value);
    } catch (err) {
      inc(stats.badTxs, (err as { code?: string }).code ?? 'UNKNOWN');
      return [];
    }
    return facts(inner, height);
  }

  return { facts, stats };
}
