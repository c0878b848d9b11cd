// Writes tcr/curves.svg from the default controller parameters (run after the build):
//   node scripts/plotTcr.mjs [out.svg]
import { writeFileSync } from 'node:fs';
import { createTcrParams, curvesSvg } from '../dist/tcr/index.js';

const out = process.argv[2] ?? new URL('../tcr/curves.svg', import.meta.url).pathname;
writeFileSync(out, curvesSvg(createTcrParams(), { intervalS: 900 }));
console.log(`wrote ${out}`);
