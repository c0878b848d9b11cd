import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kwToIntervalWh, parseAusgridCsv } from '../index.js';

const HEAD = ',GC,GG\n';

test('parseAusgridCsv: average kW per half hour → floored Wh, float noise in the text ignored', () => {
  const s = parseAusgridCsv(
    HEAD + '2011-07-01 00:00:00,0.392,0.0\n2011-07-01 00:30:00,0.48200000000000004,0.0\n2011-07-01 01:00:00,0.9059999999999999,0.001\n',
  );
  assert.equal(s.intervalMinutes, 30);
  assert.deepEqual(s.times, ['2011-07-01T00:00', '2011-07-01T00:30', '2011-07-01T01:00']);
  assert.deepEqual(s.loadWh, [196, 241, 453]);
  assert.deepEqual(s.pvWh, [0, 0, 0]); // 0.001 kW × 0.5 h = 0.5 Wh → 0
  assert.equal(kwToIntervalWh(1, 15), 250);
});

test('parseAusgridCsv: columns by name (extra CL column ignored, CRLF), crossing midnight', () => {
  const s = parseAusgridCsv(',GG,CL,GC\r\n2012-06-30 23:00:00,0,0.5,1.2\r\n2012-06-30 23:30:00,0,0.5,1.0\r\n2012-07-01 00:00:00,0,0.5,0.8\r\n');
  assert.deepEqual(s.loadWh, [600, 500, 400]);
  assert.deepEqual(s.pvWh, [0, 0, 0]);
});

test('parseAusgridCsv: garbage is rejected with the line and the reason', () => {
  const bad = (text: string, re: RegExp): void => {
    assert.throws(() => parseAusgridCsv(text), (e: unknown) => e instanceof RangeError && re.test(e.message), text.slice(0, 60));
  };
  bad('', /^BAD_CSV line=1 reason=header/);
  bad('time,load,pv\n2011-07-01 00:00:00,1,0\n', /^BAD_CSV line=1 reason=header/);
  bad(HEAD + '2011-07-01 00:00:00,1,0\n', /fewer than two data rows/);
  bad(HEAD + '01/07/2011 00:00,1,0\n2011-07-01 00:30:00,1,0\n', /^BAD_CSV line=2 reason=timestamp/);
  bad(HEAD + '2011-07-01 00:00:00,abc,0\n2011-07-01 00:30:00,1,0\n', /^BAD_CSV line=2 reason=GC/);
  bad(HEAD + '2011-07-01 00:00:00,1,-0.2\n2011-07-01 00:30:00,1,0\n', /^BAD_CSV line=2 reason=GG/);
  bad(HEAD + '2011-07-01 00:00:00,1,0,7\n2011-07-01 00:30:00,1,0\n', /expected 3 cells/);
  bad(HEAD + '2011-07-01 00:00:00,1,0\n2011-07-01 00:30:00,1,0\n2011-07-01 01:30:00,1,0\n', /^BAD_CSV line=4 reason=rows not consecutive/);
  bad(HEAD + '2011-07-01 00:00:00,1,0\n2011-07-01 00:07:00,1,0\n', /does not divide a day/);
  bad(HEAD + '2011-07-01 00:00:00,1,0\n2011-07-01 00:00:00,1,0\n', /does not divide a day/);
});
