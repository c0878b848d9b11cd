/**
 * The soak's counting subscriber: an MQTT login with role analytics (persistent session,
 * QoS 1) on the readings, the bids, the auction messages and the chain's blocks. It
 * records every soak reqId it receives, when each auction closed and when the block
 * holding the close and the auction-result arrived, and the bids each block carried
 * (in chain order) so the clearing can be recomputed.
 */
import mqtt, { type MqttClient } from 'mqtt';
import { makeLoginToken } from '../../wire/loginToken.js';
import { keepAliveOnTraffic } from '../../platform/mqttLogin.js';
import type { KeyPair } from '../../wire/keys.js';
import type { OpenBid } from '../../schemas/types.js';
import { parseReqId, reqIdInPayload } from './soakHomes.js';

export interface CountedBid {
  address: string;
  feeder: string;
  reqId: string;
  bid: OpenBid;
  inclusion: number;
}

export interface AuctionTimes {
  /** date of the aggregator's signed auction-close */
  closeSignedAt?: number;
  /** auction-close received here */
  closeSeenAt?: number;
  /** the block holding the auction-close received here */
  closeBlockAt?: number;
  closeBlockHeight?: number;
  /** auction-result received here */
  resultAt?: number;
  resultAwards?: number;
}

export interface SoakCounter {
  received: Set<string>;
  duplicates: number;
  others: number;
  messages: number;
  lastMessageAt: number;
  /** last message of a home (reading, bid, certificate) */
  lastHomeMessageAt: number;
  bidsByAuction: Map<string, Map<number, CountedBid>>;
  auctions: Map<string, AuctionTimes>;
  blocks: { count: number; maxBytes: number; txs: number; heights: Set<number> };
  disconnects: number;
  /** why the connection went: [seconds since start, reason] */
  disconnectReasons: [number, string][];
  close(): Promise<void>;
}

export async function startCounter(url: string, meterId: string, key: KeyPair): Promise<SoakCounter> {
  const c: SoakCounter = {
    received: new Set(),
    duplicates: 0,
    others: 0,
    messages: 0,
    lastMessageAt: Date.now(),
    lastHomeMessageAt: Date.now(),
    bidsByAuction: new Map(),
    auctions: new Map(),
    blocks: { count: 0, maxBytes: 0, txs: 0, heights: new Set() },
    disconnects: 0,
    disconnectReasons: [],
    close: async () => {
      await client.endAsync(true);
    },
  };
  const times = (id: string) => {
    let t = c.auctions.get(id);
    if (!t) c.auctions.set(id, (t = {}));
    return t;
  };
  const client: MqttClient = await mqtt.connectAsync(url, {
    clientId: meterId, username: meterId, password: makeLoginToken(key, meterId),
    clean: false, reconnectPeriod: 1000, keepalive: 60, protocolVersion: 4,
  });
  keepAliveOnTraffic(client);
  const t0 = Date.now();
  let lastError = '';
  client.on('error', (err) => void (lastError = err.message.slice(0, 120)));
  client.on('disconnect', (p) => void (lastError = `DISCONNECT from broker reason ${String((p as { reasonCode?: number }).reasonCode)}`));
  client.on('close', () => {
    c.disconnects++;
    if (c.disconnectReasons.length < 20) c.disconnectReasons.push([Math.round((Date.now() - t0) / 1000), lastError || 'socket closed']);
    lastError = '';
    client.options.password = makeLoginToken(key, meterId);
  });
  const auctionTopic = /^tmi\/v1\/auctions\/([^/]+)(\/(bids|result))?$/;
  client.on('message', (topic, payload) => {
    const at = Date.now();
    c.messages++;
    c.lastMessageAt = at;
    if (topic === 'tmi/v1/chain/blocks') return onBlock(payload, at);
    const reqId = reqIdInPayload(payload);
    const m = auctionTopic.exec(topic);
    if (m && m[3] === undefined) {
      // auction-open or auction-close (retained; the close replaces the open)
      const env = JSON.parse(payload.toString('utf8')) as { operation: string; date: string };
      if (env.operation === 'auction-close') {
        const t = times(m[1]!);
        t.closeSignedAt ??= Date.parse(env.date);
        t.closeSeenAt ??= at;
      }
      return;
    }
    if (m && m[3] === 'result') {
      const env = JSON.parse(payload.toString('utf8')) as { parameters: { awards: unknown[] } };
      const t = times(m[1]!);
      t.resultAt ??= at;
      t.resultAwards = env.parameters.awards.length;
      return;
    }
    if (reqId === undefined || parseReqId(reqId) === undefined) {
      c.others++;
      return;
    }
    c.lastHomeMessageAt = at;
    if (c.received.has(reqId)) c.duplicates++;
    else c.received.add(reqId);
  });

  function onBlock(payload: Buffer, at: number) {
    const env = JSON.parse(payload.toString('utf8')) as {
      operation: string;
      parameters: { header: { height: number }; txs: { operation: string; reqId: string; parameters: Record<string, unknown> }[] };
    };
    if (env.operation !== 'block') return;
    const { header, txs } = env.parameters;
    c.blocks.count++;
    c.blocks.txs += txs.length;
    c.blocks.maxBytes = Math.max(c.blocks.maxBytes, payload.length);
    c.blocks.heights.add(header.height);
    txs.forEach((tx, index) => {
      if (tx.operation === 'bid-offer') {
        const p = tx.parameters as { auctionId: string; address: string; feeder: string; bid?: OpenBid };
        if (!p.bid) return;
        let bids = c.bidsByAuction.get(p.auctionId);
        if (!bids) c.bidsByAuction.set(p.auctionId, (bids = new Map()));
        const inclusion = header.height * 100_000 + index;
        bids.set(inclusion, { address: p.address, feeder: p.feeder, reqId: tx.reqId, bid: p.bid, inclusion });
      } else if (tx.operation === 'auction-close') {
        const t = times((tx.parameters as { auctionId: string }).auctionId);
        t.closeBlockAt ??= at;
        t.closeBlockHeight = header.height;
      }
    });
  }

  await client.subscribeAsync({
    'tmi/v1/readings': { qos: 1 },
    'tmi/v1/chain/txs': { qos: 1 },
    'tmi/v1/auctions/+': { qos: 1 },
    'tmi/v1/auctions/+/bids': { qos: 1 },
    'tmi/v1/auctions/+/result': { qos: 1 },
    'tmi/v1/chain/blocks': { qos: 1 },
  });
  return c;
}
