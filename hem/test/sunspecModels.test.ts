/** SunSpec register decoding without a device: scale factors, not-implemented values, model selection, writes. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BATTERY_802, INVERTER_1XX, STORAGE_124, SunSpecError, implemented, pointValue, selectModels, toRegister } from '../adapters/sunspecModels.js';

const regs = (n: number, set: Record<number, number>) => Array.from({ length: n }, (_, k) => (set[k] ?? 0) & 0xffff);

test('[SUNS-2] value × 10^SF, signed int16 and sunssf', () => {
  assert.equal(pointValue(103, INVERTER_1XX, 'W', regs(50, { 12: 12345, 13: -2 })), 123.45);
  assert.equal(pointValue(103, INVERTER_1XX, 'W', regs(50, { 12: -1500, 13: 1 })), -15000);
  assert.equal(pointValue(802, BATTERY_802, 'SoC', regs(62, { 9: 655, 54: -1 })), 65.5);
  assert.throws(() => pointValue(103, INVERTER_1XX, 'W', regs(50, { 12: 1, 13: 11 })), /^SunSpecError: SUNSPEC_BAD_VALUE model=103 point=W_SF value=11 need=-10..10$/);
});

test('[SUNS-3] not implemented is an error, never zero: 0x8000 (int16, sunssf), 0xFFFF (uint16)', () => {
  const code = (f: () => unknown) => {
    try {
      f();
    } catch (err) {
      return err instanceof SunSpecError ? err.message : String(err);
    }
    return 'no error';
  };
  assert.equal(code(() => pointValue(103, INVERTER_1XX, 'W', regs(50, { 12: 0x8000 }))), 'SUNSPEC_NOT_IMPLEMENTED model=103 point=W raw=0x8000');
  assert.equal(code(() => pointValue(103, INVERTER_1XX, 'W', regs(50, { 12: 5, 13: 0x8000 }))), 'SUNSPEC_NOT_IMPLEMENTED model=103 point=W_SF raw=0x8000');
  assert.equal(code(() => pointValue(124, STORAGE_124, 'ChaState', regs(24, { 6: 0xffff }))), 'SUNSPEC_NOT_IMPLEMENTED model=124 point=ChaState raw=0xffff');
  // 0xFFFF is a valid int16 (−1) and 0x8000 a valid uint16
  assert.equal(pointValue(103, INVERTER_1XX, 'W', regs(50, { 12: 0xffff })), -1);
  assert.equal(pointValue(124, STORAGE_124, 'WChaMax', regs(24, { 0: 0x8000 })), 0x8000);
  assert.equal(implemented(124, STORAGE_124, 'InOutWRte_RvrtTms', regs(24, { 13: 0xffff })), false);
  assert.equal(implemented(124, STORAGE_124, 'InOutWRte_RvrtTms', regs(24, { 13: 0 })), true);
});

test('[SUNS-1] model selection: the first of each kind; none usable or too short is WRONG_MODEL', () => {
  const m = selectModels(40000, [
    { id: 1, start: 40004, length: 66 },
    { id: 103, start: 40072, length: 50 },
    { id: 101, start: 40124, length: 50 },
    { id: 213, start: 40176, length: 124 },
    { id: 204, start: 40302, length: 105 },
  ]);
  assert.deepEqual([m.inverter?.id, m.meter?.id, m.storage, m.battery], [103, 204, undefined, undefined]);
  assert.throws(() => selectModels(0, [{ id: 1, start: 4, length: 66 }, { id: 213, start: 72, length: 124 }]), /^SunSpecError: SUNSPEC_WRONG_MODEL models=1,213 need=/);
  assert.throws(() => selectModels(0, []), /SUNSPEC_WRONG_MODEL models=none/);
  assert.throws(() => selectModels(0, [{ id: 802, start: 4, length: 40 }]), /^SunSpecError: SUNSPEC_WRONG_MODEL model=802 length=40 need=62 at=2$/);
});

test('toRegister: the raw value for a scaled set-point, clamped to the type', () => {
  assert.equal(toRegister(40, -2, 'int16'), 4000);
  assert.equal(toRegister(-40, -2, 'int16'), 0x10000 - 4000);
  assert.equal(toRegister(1e9, 0, 'int16'), 0x7fff);
  assert.equal(toRegister(-5, 0, 'uint16'), 0);
});
