import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TxJournal } from '../../node/txJournal.js';
import { memoryStore, pastGenesisConfig } from './nodeFixtures.js';

test('[NODE-J] journal: received messages are written; refused ones deleted; admitted ones kept until they leave the mempool; load gives them in seq order', async () => {
  const store = await memoryStore(pastGenesisConfig());
  const errors: unknown[] = [];
  const j = new TxJournal(store, (e) => errors.push(e));
  assert.deepEqual(await j.load(), []);
  const a = j.record('tmi/v1/readings', '{"a":1}');
  const b = j.record('tmi/v1/auctions/x/bids', '{"b":2}');
  const c = j.record('tmi/v1/chain/txs', '{"c":3}');
  assert.deepEqual([a, b, c], [1, 2, 3]);
  await j.flush();
  assert.deepEqual((await store.journalLoad()).map((e) => e.seq), [1, 2, 3]);
  j.settle(a, 'tx-a'); // admitted
  j.settle(b, undefined); // refused
  j.settle(c, 'tx-a'); // the same transaction again (known): the first entry holds it
  await j.flush();
  assert.deepEqual(await store.journalLoad(), [{ seq: 1, text: 'tmi/v1/readings\n{"a":1}' }]);
  assert.equal(j.stats().held, 1);
  j.removed('not-journaled'); // a transaction submitted without a journal entry: nothing to do
  j.removed('tx-a');
  await j.flush();
  assert.deepEqual(await store.journalLoad(), []);
  // settled before its write: never written
  const d = j.record('tmi/v1/readings', '{"d":4}');
  j.settle(d, undefined);
  await j.flush();
  assert.deepEqual(await store.journalLoad(), []);
  // a second journal on the same store (a restart) continues the seqs and sees what was left
  j.record('tmi/v1/readings', '{"e":5}');
  await j.flush();
  const again = new TxJournal(store, (e) => errors.push(e));
  const loaded = await again.load();
  assert.deepEqual(loaded, [{ seq: 5, topic: 'tmi/v1/readings', payload: '{"e":5}' }]);
  assert.equal(again.record('tmi/v1/readings', '{}'), 6);
  assert.deepEqual(errors, []);
});

test('[NODE-J] a failed write is reported and counted, and the journal goes on', async () => {
  const store = await memoryStore(pastGenesisConfig());
  const errors: string[] = [];
  let fail = true;
  const flaky = Object.create(store) as typeof store;
  flaky.journalWrite = async (put, del) => {
    if (fail) throw new Error('disk full');
    return store.journalWrite(put, del);
  };
  const j = new TxJournal(flaky, (e) => errors.push((e as Error).message));
  j.record('tmi/v1/readings', '{"a":1}');
  await j.flush();
  assert.deepEqual(errors, ['disk full']);
  assert.equal(j.stats().writeFailures, 1);
  fail = false;
  j.record('tmi/v1/readings', '{"b":2}');
  await j.flush();
  assert.deepEqual((await store.journalLoad()).map((e) => e.text), ['tmi/v1/readings\n{"b":2}']);
});
