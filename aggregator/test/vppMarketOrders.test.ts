/**
 * [MKT] The VPP's own P2P orders: the operator API validates, the aggregator seals with its
 * key, publishes the order, and reveals it just after the order close with values that open
 * the commitment; garbage and late orders change nothing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { generateKeyPair } from '../../wire/keys.js';
import type { AnyEnvelope } from '../../schemas/types.js';
import { orderCommitment } from '../../poe-chain/core/market/orderCommitment.js';
import { createAggregatorAdminApp } from '../adminApi.js';
import { createVppMarketTrader } from '../vppMarketOrders.js';
import type { Aggregator } from '../aggregator.js';

test('[MKT] a VPP order: posted sealed, revealed after the order close with values that open it; bad posts refused', async (t) => {
  const key = generateKeyPair();
  const sent: { topic: string; env: AnyEnvelope; at: number }[] = [];
  const intervalMs = 2000;
  const originMs = Math.floor(Date.now() / intervalMs) * intervalMs - 10 * intervalMs;
  const vpp = createVppMarketTrader({
    key, genesisHash: 'ab'.repeat(32), timing: { originMs, intervalMs, gateClosureMs: 400, revealWindowMs: 300 },
    publish: async (topic, env) => void sent.push({ topic, env, at: Date.now() }),
  });
  const noAuctions = { auctions: () => [] } as unknown as Aggregator;
  const app = createAggregatorAdminApp(noAuctions, 'op-token', vpp);
  const server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  t.after(() => {
    vpp.stop();
    server.close();
  });
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const post = (body: unknown, token = 'op-token') =>
    fetch(`${base}/admin/market/orders`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  // an interval whose order close is 1.3–3.3 s away
  const e = Math.floor((Date.now() - originMs) / intervalMs) + 2;
  const delivery = { start: new Date(originMs + e * intervalMs).toISOString(), end: new Date(originMs + (e + 1) * intervalMs).toISOString() };
  const closeAt = originMs + e * intervalMs - 400 - 300;

  const bad: [unknown, number, string][] = [
    [{ side: 'buy', energyWh: 0, priceMcPerKWh: 9000, delivery }, 400, 'SCHEMA_OUT_OF_RANGE'],
    [{ side: 'buy', energyWh: 1.5, priceMcPerKWh: 9000, delivery }, 400, 'SCHEMA_WRONG_TYPE'],
    [{ side: 'both', energyWh: 1, priceMcPerKWh: 9000, delivery }, 400, 'SCHEMA_BAD_VALUE'],
    [{ side: 'buy', energyWh: 1, priceMcPerKWh: 9000, delivery, extra: 1 }, 400, 'SCHEMA_UNKNOWN_FIELD'],
    [{ side: 'buy', energyWh: 1, priceMcPerKWh: 9000, delivery: { start: delivery.start, end: new Date(Date.parse(delivery.end) + 1).toISOString() } }, 400, 'BAD_DELIVERY_INTERVAL'],
    [{ side: 'buy', energyWh: 1, priceMcPerKWh: 9000, delivery: { start: new Date(originMs).toISOString(), end: new Date(originMs + intervalMs).toISOString() } }, 400, 'ORDERS_CLOSED'],
    ['{"side":', 400, 'MALFORMED_JSON'],
  ];
  for (const [b, status, code] of bad) {
    const r = await post(b);
    const got = ((await r.json()) as { error: { code: string } }).error.code;
    assert.equal(r.status, status, `${code}: got ${got}`);
    assert.equal(got, code);
  }
  assert.equal((await post({ side: 'buy', energyWh: 1, priceMcPerKWh: 1, delivery }, 'wrong')).status, 401);
  assert.equal(sent.length, 0, 'nothing published for a refused post');

  const ok = await post({ side: 'buy', energyWh: 1500, priceMcPerKWh: 9000, delivery, intervals: 2 });
  assert.equal(ok.status, 201);
  const rec = (await ok.json()) as { orderId: string; revealAt: string };
  assert.equal(sent.length, 1);
  const order = sent[0]!.env;
  assert.equal(sent[0]!.topic, 'tmi/v1/market/orders');
  assert.ok(order.operation === 'market-order');
  assert.equal(order.clientId, key.address);
  assert.equal(order.parameters.intervals, 2);
  // sealed: no field of the posted order carries the energy or the price (a substring test
  // would fail by chance when the random commitment's hex contains the digits)
  const posted = Object.entries(order.parameters as Record<string, unknown>);
  assert.deepEqual(posted.filter(([k, v]) => /energy|price/i.test(k) || v === 1500 || v === 9000 || v === '1500' || v === '9000'), [], 'sealed: the energy is not on the wire');
  // the reveal: after the order close, before the gate
  for (let i = 0; i < 100 && sent.length < 2; i++) await new Promise((r) => setTimeout(r, 50));
  assert.equal(sent.length, 2, 'revealed');
  const reveal = sent[1]!.env;
  assert.ok(reveal.operation === 'market-reveal');
  assert.ok(sent[1]!.at >= closeAt && sent[1]!.at < closeAt + 300, `revealed ${sent[1]!.at - closeAt} ms after the order close`);
  assert.equal(orderCommitment({ ...reveal.parameters, side: 'buy' }), order.parameters.commitment, 'the reveal opens the commitment');
  const list = (await (await fetch(`${base}/admin/market/orders`, { headers: { authorization: 'Bearer op-token' } })).json()) as { items: { orderId: string; status: string }[] };
  assert.deepEqual(list.items.map((x) => [x.orderId, x.status]), [[rec.orderId, 'revealed']]);
});
