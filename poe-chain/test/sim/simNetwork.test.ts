/**
 * The simulator's clock and network (poe-chain/sim): topic filters, the virtual clock's
 * order, crashed owners, partitions, per-pair order, backpressure through handleMessage,
 * disconnection and crash.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SimClock, type SimOwner } from '../../sim/simClock.js';
import { SimNetwork, topicMatches, type NetworkModel } from '../../sim/simNetwork.js';
import { SimRandom } from '../../sim/simRandom.js';

const calm: NetworkModel = { minDelayMs: 5, meanExtraMs: 0, maxDelayMs: 5, dropRate: 0, dupRate: 0, reorder: false };

/** runs every task up to `until` (no promise work in these tests) */
function runAll(clock: SimClock, until = Number.POSITIVE_INFINITY): string[] {
  const ran: string[] = [];
  for (let t = clock.next(until); t; t = clock.next(until)) {
    ran.push(t.label);
    t.fn();
  }
  return ran;
}

test('topic filters: + is one level, # the rest and the parent level', () => {
  assert.ok(topicMatches('tmi/v1/auctions/+', 'tmi/v1/auctions/a1'));
  assert.ok(!topicMatches('tmi/v1/auctions/+', 'tmi/v1/auctions/a1/bids'));
  assert.ok(topicMatches('tmi/v1/auctions/+/bids', 'tmi/v1/auctions/a1/bids'));
  assert.ok(topicMatches('tmi/#', 'tmi/v1/chain/blocks'));
  assert.ok(topicMatches('tmi/v1/#', 'tmi/v1'));
  assert.ok(!topicMatches('tmi/v1/chain/txs', 'tmi/v1/chain/txs/x'));
  assert.ok(!topicMatches('tmi/v1/readings', 'tmi/v1/reading'));
});

test('the clock: deferred work first, then timers by time and order set; a dead owner\'s tasks are skipped; time moves only to a task', () => {
  const clock = new SimClock(1000);
  const owner: SimOwner = { name: 'n', alive: true };
  const s = clock.schedulerFor(owner);
  clock.at(1010, 'b', () => undefined);
  clock.at(1005, 'a', () => undefined);
  const h = s.setTimeout(() => undefined, 7);
  s.setTimeout(() => undefined, 10);
  s.clearTimeout(h);
  s.setImmediate(() => undefined);
  const dead: SimOwner = { name: 'dead', alive: true };
  clock.schedulerFor(dead).setTimeout(() => undefined, 1);
  dead.alive = false;
  assert.equal(clock.now(), 1000);
  assert.deepEqual(runAll(clock, 1009), ['n:immediate', 'a']);
  assert.equal(clock.now(), 1009, 'moved to the bound when nothing is left before it');
  assert.deepEqual(runAll(clock), ['b', 'n:timer']);
  assert.equal(clock.now(), 1010);
});

test('one seed, one sequence; named streams do not shift each other', () => {
  const a = new SimRandom(7);
  const b = new SimRandom(7);
  const xs = Array.from({ length: 5 }, () => a.u32());
  assert.deepEqual(Array.from({ length: 5 }, () => b.u32()), xs);
  const n1 = new SimRandom(7).fork('network');
  const r = new SimRandom(7);
  r.fork('faults').u32();
  assert.equal(r.fork('network').u32(), n1.u32());
  assert.notDeepEqual(Array.from({ length: 5 }, () => new SimRandom(8).u32()), xs);
});

test('a partition cuts copies across groups, both when sent and when they arrive; healed, they pass', () => {
  const clock = new SimClock(0);
  const net = new SimNetwork(clock, new SimRandom(1), calm);
  const got: string[] = [];
  const [a, b, c] = ['a', 'b', 'c'].map((n) => {
    const cl = net.connect(n, n, { name: n, alive: true });
    void cl.subscribeAsync({ 't/#': { qos: 1 } });
    cl.on('message', (topic: string, p: Buffer) => got.push(`${n}<${p.toString()}`));
    return cl;
  });
  net.partition([['a', 'b'], ['c']]);
  a!.publish('t/x', '1', { qos: 1 });
  runAll(clock);
  assert.deepEqual(got.sort(), ['a<1', 'b<1']);
  got.length = 0;
  net.heal();
  c!.publish('t/x', '2', { qos: 1 });
  net.partition([['a'], ['b', 'c']]); // cut while in flight
  runAll(clock);
  assert.deepEqual(got.sort(), ['b<2', 'c<2']);
  assert.ok(net.counters.partitioned >= 2);
  void b;
});

test('without reordering each pair keeps its order; a held acknowledgement holds the next message', () => {
  const clock = new SimClock(0);
  const net = new SimNetwork(clock, new SimRandom(3), { ...calm, meanExtraMs: 40, maxDelayMs: 500 });
  const pub = net.connect('p', 'p', { name: 'p', alive: true });
  const sub = net.connect('s', 's', { name: 's', alive: true });
  void sub.subscribeAsync({ 'q/+': { qos: 1 } });
  const got: string[] = [];
  let hold: (() => void) | undefined;
  sub.on('message', (_t: string, p: Buffer) => got.push(p.toString()));
  sub.handleMessage = (_packet, cb) => {
    if (got.length === 3) hold = cb; // the node's backpressure: acknowledge later
    else cb();
  };
  for (let i = 0; i < 10; i++) pub.publish(`q/${i}`, String(i), { qos: 1 });
  runAll(clock);
  assert.deepEqual(got, ['0', '1', '2'], 'nothing is read while the third is held');
  hold!();
  runAll(clock);
  assert.deepEqual(got, ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
});

test('a disconnected client misses what arrives, keeps what it publishes until it is back; a killed one is gone', () => {
  const clock = new SimClock(0);
  const net = new SimNetwork(clock, new SimRandom(1), calm);
  const a = net.connect('a', 'a', { name: 'a', alive: true });
  const b = net.connect('b', 'b', { name: 'b', alive: true });
  const events: string[] = [];
  for (const [n, c] of [['a', a], ['b', b]] as const) {
    void c.subscribeAsync({ t: { qos: 1 } });
    c.on('message', (_t: string, p: Buffer) => events.push(`${n}<${p.toString()}`));
    c.on('close', () => events.push(`${n} close`));
    c.on('connect', () => events.push(`${n} connect`));
  }
  net.disconnect('a');
  b.publish('t', 'missed', { qos: 1 });
  a.publish('t', 'queued', { qos: 1 });
  runAll(clock);
  assert.deepEqual(events, ['a close', 'b<missed']);
  net.reconnect('a');
  runAll(clock);
  assert.deepEqual(events.slice(2), ['a connect', 'a<queued', 'b<queued']);
  net.kill('b');
  a.publish('t', 'after', { qos: 1 });
  b.publish('t', 'ghost', { qos: 1 });
  runAll(clock);
  assert.deepEqual(events.slice(5), ['a<after']);
});
