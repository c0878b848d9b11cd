/**
 * SunSpec over Modbus: the register layouts the `sunspec` adapter reads and writes, and
 * their decoding. Pure: registers in, numbers (or a coded error) out.
 *
 * Offsets are from the first register after a model's ID and L, as in the SunSpec model
 * definitions (sunspec/models json/model_<id>.json).
 *
 * [SUNS-1] Discovery: the header `SunS` (0x5375 0x6E53) at 40000, else 0, else 50000;
 *          then model blocks (ID, L, L registers) until ID 0xFFFF.
 * [SUNS-2] A value is `value × 10^SF`; a scale factor outside −10…10 is refused.
 * [SUNS-3] Not implemented: int16/sunssf 0x8000, uint16/enum16/bitfield16 0xFFFF. Such a
 *          value is an error (SUNSPEC_NOT_IMPLEMENTED), never a zero.
 */
import { CodedError } from '../../wire/errors.js';

export type SunSpecErrorCode =
  | 'SUNSPEC_UNREACHABLE'
  | 'SUNSPEC_NOT_FOUND'
  | 'SUNSPEC_WRONG_MODEL'
  | 'SUNSPEC_NOT_IMPLEMENTED'
  | 'SUNSPEC_BAD_VALUE'
  | 'SUNSPEC_READ_FAILED'
  | 'SUNSPEC_WRITE_FAILED'
  | 'SUNSPEC_NO_CONTROL';

export class SunSpecError extends CodedError<SunSpecErrorCode> {}

export const SUNS_MARKER = [0x5375, 0x6e53] as const;
export const BASE_ADDRESSES = [40000, 0, 50000] as const;
export const END_MODEL_ID = 0xffff;

type PointType = 'int16' | 'uint16' | 'enum16' | 'bitfield16' | 'sunssf';
export interface Point {
  readonly offset: number;
  readonly type: PointType;
  /** name of the scale-factor point in the same model */
  readonly sf?: string;
}
export interface Layout {
  readonly kind: 'inverter' | 'meter' | 'storage' | 'battery';
  readonly ids: readonly number[];
  /** the model's length L as the standard fixes it; absent: at least what the points need */
  readonly length?: number;
  readonly points: Readonly<Record<string, Point>>;
}

const p = (offset: number, type: PointType, sf?: string): Point => (sf === undefined ? { offset, type } : { offset, type, sf });

/** Inverter, integer + scale factor: 101 single phase, 102 split phase, 103 three phase (L = 50). */
export const INVERTER_1XX: Layout = {
  kind: 'inverter',
  ids: [101, 102, 103],
  length: 50,
  points: { W: p(12, 'int16', 'W_SF'), W_SF: p(13, 'sunssf') },
};
/** DER AC measurement (L = 153): W at 8, W_SF at 114. */
export const INVERTER_701: Layout = {
  kind: 'inverter',
  ids: [701],
  points: { W: p(8, 'int16', 'W_SF'), W_SF: p(114, 'sunssf') },
};
/** Meters 201 single phase, 202 split phase, 203 wye, 204 delta (L = 105). W > 0 is import. */
export const METER_20X: Layout = {
  kind: 'meter',
  ids: [201, 202, 203, 204],
  length: 105,
  points: { W: p(16, 'int16', 'W_SF'), W_SF: p(20, 'sunssf') },
};
/** Basic storage controls (L = 24). */
export const STORAGE_124: Layout = {
  kind: 'storage',
  ids: [124],
  length: 24,
  points: {
    WChaMax: p(0, 'uint16', 'WChaMax_SF'),
    StorCtl_Mod: p(3, 'bitfield16'),
    ChaState: p(6, 'uint16', 'ChaState_SF'),
    OutWRte: p(10, 'int16', 'InOutWRte_SF'),
    InWRte: p(11, 'int16', 'InOutWRte_SF'),
    InOutWRte_RvrtTms: p(13, 'uint16'),
    WChaMax_SF: p(16, 'sunssf'),
    ChaState_SF: p(20, 'sunssf'),
    InOutWRte_SF: p(23, 'sunssf'),
  },
};
/** Battery base model (L = 62). W > 0 is discharge (the DER sign: power delivered). */
export const BATTERY_802: Layout = {
  kind: 'battery',
  ids: [802],
  length: 62,
  points: {
    WHRtg: p(1, 'uint16', 'WHRtg_SF'),
    WChaRteMax: p(2, 'uint16', 'WChaDisChaMax_SF'),
    WDisChaRteMax: p(3, 'uint16', 'WChaDisChaMax_SF'),
    SoC: p(9, 'uint16', 'SoC_SF'),
    W: p(45, 'int16', 'W_SF'),
    WHRtg_SF: p(51, 'sunssf'),
    WChaDisChaMax_SF: p(52, 'sunssf'),
    SoC_SF: p(54, 'sunssf'),
    W_SF: p(61, 'sunssf'),
  },
};
export const LAYOUTS: readonly Layout[] = [INVERTER_1XX, INVERTER_701, METER_20X, STORAGE_124, BATTERY_802];

/** Registers a layout needs: the highest offset + 1. */
export function neededLength(l: Layout): number {
  return Math.max(...Object.values(l.points).map((x) => x.offset)) + 1;
}

export interface ModelBlock {
  readonly id: number;
  /** address of the model's first data register (after ID and L) */
  readonly start: number;
  readonly length: number;
}

/** The model blocks the adapter uses, one per kind (the first the device lists). */
export interface DeviceModels {
  readonly base: number;
  readonly all: readonly ModelBlock[];
  readonly inverter?: ModelBlock;
  readonly meter?: ModelBlock;
  readonly storage?: ModelBlock;
  readonly battery?: ModelBlock;
}

export function layoutOf(id: number): Layout | undefined {
  return LAYOUTS.find((l) => l.ids.includes(id));
}

/**
 * Picks the models the adapter uses from the list the device gave [SUNS-1]. A used model
 * whose length is not the standard's (other offsets), or a device with none of them, is
 * SUNSPEC_WRONG_MODEL.
 */
export function selectModels(base: number, all: readonly ModelBlock[]): DeviceModels {
  const out: { -readonly [K in keyof DeviceModels]: DeviceModels[K] } = { base, all };
  for (const m of all) {
    const l = layoutOf(m.id);
    if (!l || out[l.kind]) continue;
    const need = l.length ?? neededLength(l);
    if (l.length !== undefined ? m.length !== need : m.length < need) {
      throw new SunSpecError('SUNSPEC_WRONG_MODEL', { model: m.id, length: m.length, need, at: m.start - 2 });
    }
    out[l.kind] = m;
  }
  if (!out.inverter && !out.meter && !out.storage && !out.battery) {
    throw new SunSpecError('SUNSPEC_WRONG_MODEL', {
      models: all.map((m) => m.id).join(',') || 'none',
      need: 'an inverter (101-103, 701), meter (201-204), storage (124) or battery (802) model',
    });
  }
  return out;
}

const toInt16 = (r: number): number => (r & 0x8000 ? r - 0x10000 : r);

/** The raw register of a point, checked against the not-implemented values [SUNS-3]. */
export function rawPoint(model: number, name: string, pt: Point, regs: readonly number[]): number {
  const r = regs[pt.offset];
  if (r === undefined) throw new SunSpecError('SUNSPEC_WRONG_MODEL', { model, point: name, reason: 'block too short' });
  const signed = pt.type === 'int16' || pt.type === 'sunssf';
  const notImpl = signed ? r === 0x8000 : r === 0xffff;
  if (notImpl) throw new SunSpecError('SUNSPEC_NOT_IMPLEMENTED', { model, point: name, raw: `0x${r.toString(16).padStart(4, '0')}` });
  return signed ? toInt16(r) : r;
}

/** Offset of a point in its model (for writes). */
export function offsetOf(layout: Layout, name: string): number {
  const pt = layout.points[name];
  if (!pt) throw new Error(`unknown point ${name}`);
  return pt.offset;
}

/** Whether the device implements a point (its register is not the not-implemented value). */
export function implemented(model: number, layout: Layout, name: string, regs: readonly number[]): boolean {
  const pt = layout.points[name];
  if (!pt) throw new Error(`unknown point ${name}`);
  try {
    rawPoint(model, name, pt, regs);
    return true;
  } catch (err) {
    if (err instanceof SunSpecError && err.code === 'SUNSPEC_NOT_IMPLEMENTED') return false;
    throw err;
  }
}

/** A point's value with its scale factor applied [SUNS-2]. */
export function pointValue(model: number, layout: Layout, name: string, regs: readonly number[]): number {
  const pt = layout.points[name];
  if (!pt) throw new Error(`unknown point ${name} in model ${model}`);
  const raw = rawPoint(model, name, pt, regs);
  if (!pt.sf) return raw;
  const sf = scaleFactor(model, layout, pt.sf, regs);
  return raw * 10 ** sf;
}

export function scaleFactor(model: number, layout: Layout, name: string, regs: readonly number[]): number {
  const spt = layout.points[name];
  if (!spt) throw new Error(`unknown scale factor ${name} in model ${model}`);
  const sf = rawPoint(model, name, spt, regs);
  if (sf < -10 || sf > 10) throw new SunSpecError('SUNSPEC_BAD_VALUE', { model, point: name, value: sf, need: '-10..10' });
  return sf;
}

/** The raw register value that gives `value` under scale factor `sf`, for writes. */
export function toRegister(value: number, sf: number, type: 'int16' | 'uint16'): number {
  const r = Math.round(value / 10 ** sf);
  const lo = type === 'int16' ? -0x7fff : 0;
  const hi = type === 'int16' ? 0x7fff : 0xfffe;
  const c = Math.max(lo, Math.min(hi, r));
  return c < 0 ? c + 0x10000 : c;
}
