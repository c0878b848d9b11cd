import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  createRng, dayOfYear, declination, equationOfTimeMin, erbsDiffuseFraction, haurwitzGhi, isDst, parseDate, planeOfArrayWm2,
  sunVector, weekday, normalCdf,
} from '../index.js';

const DEG = Math.PI / 180;
const close = (a: number, b: number, tol: number, what: string): void => assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} vs ${b}`);

test('declination and equation of time at known dates', () => {
  close(declination(172) / DEG, 23.44, 0.1, 'June solstice');
  close(declination(355) / DEG, -23.44, 0.1, 'December solstice');
  close(declination(80) / DEG, 0, 0.5, 'March equinox');
  close(equationOfTimeMin(307), 16.4, 0.3, 'EoT 3 Nov');
  close(equationOfTimeMin(42), -14.2, 0.3, 'EoT 11 Feb');
});

test('sun position: at solar noon the zenith angle is |φ − δ|; sun in the north at noon in Sydney', () => {
  const doy = 172;
  const sun = sunVector(-33.9, doy, 12);
  close(Math.acos(sun.up) / DEG, Math.abs(-33.9 - declination(doy) / DEG), 1e-9, 'noon zenith');
  assert.ok(sun.north > 0 && Math.abs(sun.east) < 1e-12);
  const morning = sunVector(-33.9, doy, 9);
  assert.ok(morning.east > 0, 'morning sun in the east');
  close(morning.east ** 2 + morning.north ** 2 + morning.up ** 2, 1, 1e-12, 'unit vector');
});

test('Haurwitz clear sky, Erbs diffuse fraction, plane of array', () => {
  close(haurwitzGhi(1), 1098 * Math.exp(-0.057), 1e-9, 'GHI at zenith');
  assert.equal(haurwitzGhi(0), 0);
  assert.equal(haurwitzGhi(-0.3), 0);
  close(erbsDiffuseFraction(0.1), 0.991, 1e-9, 'overcast');
  close(erbsDiffuseFraction(0.9), 0.165, 1e-9, 'clear');
  const sun = sunVector(-33.9, 172, 11);
  // a flat panel sees exactly the GHI when albedo is irrelevant
  close(planeOfArrayWm2(500, sun, 172, { tiltDeg: 0, azimuthDeg: 0, albedo: 0.2 }), 500, 1e-9, 'flat panel');
  // a north-facing tilted panel in a Sydney winter sees more than the horizontal
  assert.ok(planeOfArrayWm2(500, sun, 172, { tiltDeg: 30, azimuthDeg: 0, albedo: 0.2 }) > 500);
  // a south-facing one less
  assert.ok(planeOfArrayWm2(500, sun, 172, { tiltDeg: 30, azimuthDeg: 180, albedo: 0.2 }) < 500);
});

test('calendar: day of year, weekday, Australian DST', () => {
  assert.equal(dayOfYear(parseDate('2012-03-01')), 61);
  assert.equal(weekday(parseDate('2011-07-01')), 5); // Friday
  const d = (s: string): ReturnType<typeof parseDate> => parseDate(s);
  assert.equal(isDst('au-se', d('2011-10-02'), 119), false);
  assert.equal(isDst('au-se', d('2011-10-02'), 180), true);
  assert.equal(isDst('au-se', d('2012-01-15'), 600), true);
  assert.equal(isDst('au-se', d('2012-04-01'), 150), true);
  assert.equal(isDst('au-se', d('2012-04-01'), 181), false);
  assert.equal(isDst('au-se', d('2012-07-01'), 600), false);
  assert.equal(isDst('none', d('2012-01-15'), 600), false);
  assert.throws(() => parseDate('2012-13-01'), /BAD_DATE/);
});

test('rng: deterministic, uniform in [0,1), forks independent, normal and Poisson moments', () => {
  const a = createRng(9);
  const b = createRng(9);
  const xs = Array.from({ length: 20_000 }, () => a.uniform());
  assert.deepEqual(xs.slice(0, 50), Array.from({ length: 50 }, () => b.uniform()));
  assert.ok(xs.every((x) => x >= 0 && x < 1));
  close(xs.reduce((s, x) => s + x, 0) / xs.length, 0.5, 0.01, 'uniform mean');
  const f1 = createRng(9).fork('pv').uniform();
  const f2 = createRng(9).fork('load').uniform();
  assert.notEqual(f1, f2);
  const r = createRng(3);
  const ns = Array.from({ length: 20_000 }, () => r.normal());
  const m = ns.reduce((s, x) => s + x, 0) / ns.length;
  close(m, 0, 0.03, 'normal mean');
  close(ns.reduce((s, x) => s + (x - m) ** 2, 0) / ns.length, 1, 0.04, 'normal variance');
  const ps = Array.from({ length: 20_000 }, () => r.poisson(2.5));
  close(ps.reduce((s, x) => s + x, 0) / ps.length, 2.5, 0.05, 'Poisson mean');
  close(normalCdf(0), 0.5, 1e-7, 'Φ(0)');
  close(normalCdf(1.96), 0.975, 1e-4, 'Φ(1.96)');
});
