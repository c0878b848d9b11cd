import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clientErrorReason } from '../brokerMetrics.js';

test('client errors map to a small fixed set of metric reasons', () => {
  const errno = (code: string) => Object.assign(new Error(`read ${code}`), { code });
  assert.equal(clientErrorReason(new Error('keep alive timeout')), 'keepalive');
  assert.equal(clientErrorReason(errno('ECONNRESET')), 'reset');
  assert.equal(clientErrorReason(errno('EPIPE')), 'pipe');
  assert.equal(clientErrorReason(errno('ETIMEDOUT')), 'timeout');
  assert.equal(clientErrorReason(new Error('SLOW_CONSUMER buffered=9000000 limit=8388608')), 'slow-consumer');
  assert.equal(clientErrorReason(new Error('PACKET_TOO_LARGE bytes=1 limit=0')), 'protocol');
  assert.equal(clientErrorReason(new Error('Invalid header flag bits')), 'protocol');
  assert.equal(clientErrorReason(new Error('something else entirely 12345')), 'other');
});
