import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createTcrParams, curvesSvg } from '../index.js';

test('curvesSvg: well-formed SVG with both panels and the C_d line', () => {
  const svg = curvesSvg(createTcrParams(), { intervalS: 900 });
  assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  assert.match(svg, /<\/svg>\n$/);
  assert.equal((svg.match(/<path /g) ?? []).length, 5);
  assert.match(svg, /C_d 20 c\/kWh, 15-min interval/);
  assert.doesNotMatch(svg, /NaN|Infinity|undefined/);
});

test('tcr/curves.svg is up to date (regenerate with `node scripts/plotTcr.mjs`)', () => {
  const committed = readFileSync(new URL('../../../tcr/curves.svg', import.meta.url), 'utf8');
  assert.equal(committed, curvesSvg(createTcrParams(), { intervalS: 900 }));
});
