/**
 * Writes the example audit files for `tmi auction clear`, signed with fixed demo keys
 * (seed = SHA-256 of a name) so that they are reproducible:
 *   node dist/aggregator/examples/makeExamples.js [outDir]     (default aggregator/examples)
 *
 * auction.json         aggregator buys 25 kWh at ≤ 10 cents/kWh, pay-as-bid, open bids,
 *                      feeder F1 limited to 12 kWh export
 * auction-sealed.json  aggregator sells 10 kWh at ≥ 6 cents/kWh, uniform, sealed bids
 *                      (commitments) revealed by their bidders; hem-v never reveals
 * The demo keys are public; never use them for anything else.
 */
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { signEnvelope } from '../../wire/codec.js';
import { keyPairFromSeed, type KeyPair } from '../../wire/keys.js';
import type { AuctionOpen, BidOffer, OpenBid, SealedBid } from '../../schemas/types.js';
import { sealBid } from '../../poe-chain/core/auction/sealedBid.js';

const seed = (name: string): Uint8Array => new Uint8Array(createHash('sha256').update(`tmi demo key ${name}`).digest());
const key = (name: string): KeyPair => keyPairFromSeed(seed(name));
/** deterministic "random" bytes for sealing, so that the example file is reproducible */
const demoRandom = (label: string) => {
  let counter = 0;
  return (n: number): Uint8Array => new Uint8Array(createHash('sha256').update(`${label} ${counter++}`).digest().subarray(0, n));
};
const reqIdOf = (name: string): string => createHash('sha256').update(`reqId ${name}`).digest('base64url').slice(0, 22);
const date = (s: string): string => `2026-11-21T${s}.000Z`;

const aggregator = key('aggregator');
/** [DOMAIN-TX] the chain the demo transactions name: a demo genesis hash (no such chain runs) */
const chain = createHash('sha256').update('tmi demo chain').digest('hex');

function bid(name: string, auctionId: string, feeder: string, cpf: number, b: OpenBid | { sealed: SealedBid }, at: string) {
  const kp = key(name);
  const parameters: BidOffer = 'type' in b
    ? { auctionId, address: kp.address, cpf, feeder, bid: b }
    : { auctionId, address: kp.address, cpf, feeder, sealed: b.sealed };
  return signEnvelope(kp, 'bid-offer', parameters, { reqId: reqIdOf(`${auctionId} ${name}`), date: date(at), chain });
}
const offer = (type: 'buy' | 'sell', kWh: number, centsPerKWh: number): OpenBid =>
  ({ type, energy: { unit: 'kWh', value: kWh }, price: { unit: 'cents/kWh', value: centsPerKWh } });

function openBids() {
  const auctionId = 'auc-2026-11-21T10-15-buy';
  const open: AuctionOpen = {
    auctionId, side: 'buy',
    energy: { unit: 'kWh', value: 25 }, limitPrice: { unit: 'cents/kWh', value: 10 },
    delivery: { start: date('10:15:00'), end: date('10:30:00') }, closesAt: date('10:05:00'),
    pricing: 'pay-as-bid', sealed: false,
  };
  return {
    auction: signEnvelope(aggregator, 'auction-open', open, { reqId: reqIdOf(auctionId), date: date('10:00:00'), chain }),
    feederLimits: [
      { feeder: 'F1', maxExportWh: 12_000, maxImportWh: 12_000 },
      { feeder: 'F2', maxExportWh: 20_000, maxImportWh: 20_000 },
    ],
    bids: [
      { inclusion: 100_000, envelope: bid('hem-a', auctionId, 'F1', 0.72, offer('sell', 10, 8.2), '10:01:00') },
      { inclusion: 100_001, envelope: bid('hem-b', auctionId, 'F1', 0.64, offer('sell', 8, 7.5), '10:01:01') },
      { inclusion: 100_002, envelope: bid('hem-c', auctionId, 'F2', 0.81, offer('sell', 12, 9.0), '10:01:02') },
      { inclusion: 200_000, envelope: bid('hem-d', auctionId, 'F2', 0.55, offer('sell', 5, 11.0), '10:02:00') },
      { inclusion: 200_001, envelope: bid('hem-e', auctionId, 'F2', 0.91, offer('sell', 6, 9.0), '10:02:01') },
      { inclusion: 200_002, envelope: bid('hem-f', auctionId, 'F1', 0.47, offer('buy', 3, 12.0), '10:02:02') },
    ],
  };
}

function sealedBids() {
  const auctionId = 'auc-2026-11-21T11-00-sell';
  const open: AuctionOpen = {
    auctionId, side: 'sell',
    energy: { unit: 'kWh', value: 10 }, limitPrice: { unit: 'cents/kWh', value: 6 },
    delivery: { start: date('11:00:00'), end: date('11:15:00') }, closesAt: date('10:50:00'),
    pricing: 'uniform', sealed: true,
  };
  // [SEALED] each bid is a commitment; its bidder reveals bid and salt after the close
  const sealed = (name: string, b: OpenBid) => {
    const k = key(name);
    const s = sealBid(auctionId, k.address, b, demoRandom(`${auctionId} ${name}`));
    return { sealed: { sealed: s.sealed }, reveal: { auctionId, address: k.address, bid: b, salt: s.salt } };
  };
  const x = sealed('hem-x', offer('buy', 4, 7.0));
  const y = sealed('hem-y', offer('buy', 5, 6.5));
  const z = sealed('hem-z', offer('buy', 4, 8.0));
  const w = sealed('hem-w', offer('buy', 3, 5.0));
  const v = sealed('hem-v', offer('buy', 2, 9.0));
  const reveal = (name: string, r: { auctionId: string; address: string; bid: OpenBid; salt: string }, at: string) =>
    ({ envelope: signEnvelope(key(name), 'bid-reveal', r, { reqId: reqIdOf(`${name} reveal`), date: date(at), chain }) });
  return {
    auction: signEnvelope(aggregator, 'auction-open', open, { reqId: reqIdOf(auctionId), date: date('10:45:00'), chain }),
    feederLimits: [{ feeder: 'F1', maxExportWh: 20_000, maxImportWh: 20_000 }],
    bids: [
      { envelope: bid('hem-x', auctionId, 'F1', 0.7, x.sealed, '10:46:00') },
      { envelope: bid('hem-y', auctionId, 'F1', 0.6, y.sealed, '10:46:01') },
      { envelope: bid('hem-z', auctionId, 'F1', 0.9, z.sealed, '10:46:02') },
      { envelope: bid('hem-w', auctionId, 'F1', 0.5, w.sealed, '10:46:03') },
      // hem-v never reveals: excluded NOT_REVEALED
      { envelope: bid('hem-v', auctionId, 'F1', 0.8, v.sealed, '10:46:04') },
    ],
    reveals: [reveal('hem-x', x.reveal, '10:50:01'), reveal('hem-y', y.reveal, '10:50:02'), reveal('hem-z', z.reveal, '10:50:03'), reveal('hem-w', w.reveal, '10:50:04')],
  };
}

const outDir = process.argv[2] ?? 'aggregator/examples';
writeFileSync(join(outDir, 'auction.json'), JSON.stringify(openBids(), null, 2) + '\n');
writeFileSync(join(outDir, 'auction-sealed.json'), JSON.stringify(sealedBids(), null, 2) + '\n');
process.stdout.write(`wrote ${join(outDir, 'auction.json')} and ${join(outDir, 'auction-sealed.json')}\n`);
