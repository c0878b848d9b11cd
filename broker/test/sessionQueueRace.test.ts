import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tolerateAckedInQueue } from '../sessionQueueRace.js';

/** a stand-in for aedes' outgoing queue: entries by packet id */
function fakePersistence() {
  const queue = new Map<number, object>();
  const cleared: number[] = [];
  return {
    queue,
    cleared,
    async outgoingUpdate(_c: unknown, p: { messageId: number }) {
      if (!queue.has(p.messageId)) throw new Error('no such packet');
    },
    async outgoingClearMessageId(_c: unknown, p: { messageId: number }) {
      cleared.push(p.messageId);
      const had = queue.get(p.messageId);
      queue.delete(p.messageId);
      return had;
    },
  };
}

test('[BROKER-REPLAY] a packet already acknowledged is marked instead of failing, and its clean-up leaves the queue alone', async () => {
  const p = fakePersistence();
  const seen: object[] = [];
  const race = tolerateAckedInQueue(p, (pk) => seen.push(pk));
  const queued = { messageId: 7 };
  const gone = { messageId: 9 };
  p.queue.set(7, queued);
  await p.outgoingUpdate(null, queued);
  assert.equal(race.alreadyAcked(queued), false);
  await p.outgoingUpdate(null, gone); // would throw 'no such packet' without the wrapper
  assert.equal(race.alreadyAcked(gone), true);
  assert.deepEqual(seen, [gone]);
  assert.equal(race.count, 1);
  // the clean-up of the marked packet does not touch the store (an id match could hit another message)
  p.queue.set(9, { other: true });
  assert.equal(await p.outgoingClearMessageId(null, gone), undefined);
  assert.equal(p.queue.has(9), true);
  // unmarked packets are cleared as before
  assert.equal(await p.outgoingClearMessageId(null, queued), queued);
  assert.deepEqual(p.cleared, [7]);
});

test('[BROKER-REPLAY] any other persistence failure still fails', async () => {
  const p = fakePersistence();
  p.outgoingUpdate = async () => {
    throw new Error('redis down');
  };
  const race = tolerateAckedInQueue(p);
  await assert.rejects(p.outgoingUpdate(null, { messageId: 1 }), /redis down/);
  assert.equal(race.count, 0);
});

test('a persistence without the expected methods is refused at start', () => {
  assert.throws(() => tolerateAckedInQueue({}), /PERSISTENCE_UNSUPPORTED/);
  assert.throws(() => tolerateAckedInQueue(null), /PERSISTENCE_UNSUPPORTED/);
});
