/** `tmi auction clear` end to end: spawns the built CLI and reads its output. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compileSchema } from '../../../schemas/validators.js';
import { auctionResultParams as auctionResultSchema } from '../../../schemas/operations.js';

const root = fileURLToPath(new URL('../../../../', import.meta.url));
const tmi = join(root, 'dist/cli/tmi.js');
const examples = join(root, 'aggregator/examples');

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [tmi, ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

test('clears the example auction and prints allocation and payments', async () => {
  const r = await run(['auction', 'clear', '--input', join(examples, 'auction.json')]);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { status: string; awardedWh: number; clearingPriceMcPerKWh: number; totalPaymentMc: number; awards: { energyWh: number; paymentMc: number }[]; excluded: { reason: string }[] };
  assert.equal(out.status, 'cleared');
  // 8000 + 4000 + 12000 + 1000 Wh; 60000 + 32800 + 108000 + 9000 mc (see auctionAudit.test)
  assert.deepEqual(out.awards.map((a) => [a.energyWh, a.paymentMc]), [[8_000, 60_000], [4_000, 32_800], [12_000, 108_000], [1_000, 9_000]]);
  assert.equal(out.awardedWh, 25_000);
  assert.equal(out.clearingPriceMcPerKWh, 9_000);
  assert.equal(out.totalPaymentMc, 209_800);
  assert.deepEqual(out.excluded.map((e) => e.reason), ['WRONG_SIDE', 'PRICE_ABOVE_LIMIT']);
});

test('prints auction-result parameters for the sealed example', async () => {
  const r = await run(['auction', 'clear', '--input', join(examples, 'auction-sealed.json'), '--format', 'auction-result']);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { clearingPriceMillicentsPerKWh: number; awardedWh: number; excluded: { reason: string }[] };
  const valid = compileSchema(auctionResultSchema);
  assert.ok(valid(out), JSON.stringify(valid.errors));
  assert.equal(out.clearingPriceMillicentsPerKWh, 6_500);
  assert.equal(out.awardedWh, 10_000);
  assert.deepEqual(out.excluded.map((e) => e.reason), ['NOT_REVEALED', 'PRICE_BELOW_LIMIT']);
});

test('a bad input file is a clear error and exit code 1', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tmi-auction-'));
  try {
    const notJson = join(dir, 'not.json');
    writeFileSync(notJson, '{"auction": ');
    const wrong = join(dir, 'wrong.json');
    writeFileSync(wrong, JSON.stringify({ auction: { auctionId: 'x' }, bids: [] }));
    const cases: [string[], RegExp][] = [
      [['auction', 'clear', '--input', notJson], /not JSON/],
      [['auction', 'clear', '--input', wrong], /INVALID_AUDIT_INPUT path=\/auction/],
      [['auction', 'clear', '--input', join(dir, 'missing.json')], /ENOENT/],
      [['auction', 'clear', '--input', dir], /not a file/],
      [['auction', 'clear'], /--input <file> is required/],
      [['auction', 'settle', '--input', notJson], /expected the subcommand 'clear'/],
      [['auction', 'clear', '--input', notJson, '--format', 'xml'], /--format must be/],
      [['auction', 'clear', '--input', join(examples, 'auction.json'), '--max-bytes', '10'], /more than --max-bytes/],
      [['auction', 'clear', '--bogus'], /Unknown option/],
    ];
    for (const [args, expected] of cases) {
      const r = await run(args);
      assert.equal(r.code, 1, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, expected, args.join(' '));
      assert.equal(r.stdout, '');
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('--help documents the input format', async () => {
  const r = await run(['auction', '--help']);
  assert.equal(r.code, 0);
  for (const s of ['"auction"', '"bids"', '"feederLimits"', '"close"', 'inclusion', 'QUANTITY_FILLED', '--no-verify']) assert.ok(r.stdout.includes(s), s);
});
