/** `tmi market clear` end to end: spawns the built CLI and reads its output. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AUDIT_ORDERS_IN_HELP } from '../commands/market.js';
import { MAX_AUDIT_ORDERS } from '../../poe-chain/core/market/marketAudit.js';
import { clearMarket, type MarketBook, type MarketResult } from '../../poe-chain/core/market/clearMarket.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const tmi = join(root, 'dist/cli/tmi.js');
const example = join(root, 'poe-chain/core/market/examples/book.json');

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

test("clears the example book (Christidis's example): 2 kWh at 6.5 cents/kWh, the chain's result", async () => {
  const r = await run(['market', 'clear', '--input', example]);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as MarketResult;
  assert.equal(out.volumeWh, 2_000);
  assert.equal(out.clearingPriceMcPerKWh, 6_500);
  assert.deepEqual(out.priceRange, { lowMcPerKWh: 6_000, highMcPerKWh: 7_000 });
  assert.deepEqual(out.fills.map((f) => [f.address, f.side, f.energyWh, f.priceMcPerKWh]), [
    ['home-C', 'sell', 1_000, 6_500],
    ['home-D', 'sell', 1_000, 6_500],
    ['home-A', 'buy', 1_000, 6_500],
    ['home-B', 'buy', 1_000, 6_500],
  ]);
  assert.deepEqual(out.excluded, []);
  const book = JSON.parse(readFileSync(example, 'utf8')) as MarketBook;
  assert.deepEqual(out, clearMarket(book));
});

test('pay-as-bid, exclusions and feeder rooms come out as clearMarket gives them', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tmi-market-'));
  try {
    const book = JSON.parse(readFileSync(example, 'utf8')) as MarketBook;
    book.pricing = 'pay-as-bid';
    book.orders.push({ orderId: 'order-E', address: 'home-A', feeder: 'F1', side: 'sell', energyWh: 500, priceMcPerKWh: 1, inclusion: 9 });
    book.feederRoom = [{ feeder: 'F1', exportWh: 0, importWh: 1_500 }];
    const file = join(dir, 'book.json');
    writeFileSync(file, JSON.stringify(book));
    const r = await run(['market', 'clear', '--input', file]);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as MarketResult;
    assert.deepEqual(out, clearMarket(book));
    // F1 imports 1.5 kWh: A 1 kWh at its bid, B 0.5 kWh; C and D sell 0.5 + 1 at their asks
    assert.deepEqual(out.fills.map((f) => [f.address, f.energyWh, f.priceMcPerKWh]), [['home-C', 1_000, 5_000], ['home-D', 500, 6_000], ['home-A', 1_000, 11_000], ['home-B', 500, 7_000]]);
    assert.deepEqual(out.excluded, [{ orderId: 'order-E', address: 'home-A', reason: 'DUPLICATE_ADDRESS' }]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a bad input file is a clear error naming the field, and exit code 1', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tmi-market-'));
  try {
    const book = JSON.parse(readFileSync(example, 'utf8')) as MarketBook;
    const write = (name: string, value: unknown) => {
      const file = join(dir, name);
      writeFileSync(file, typeof value === 'string' ? value : JSON.stringify(value));
      return file;
    };
    const order0 = book.orders[0]!;
    const cases: [string[], RegExp][] = [
      [['market', 'clear', '--input', write('not.json', '{"epoch": ')], /not JSON/],
      [['market', 'clear', '--input', write('unknown.json', { ...book, feederRooms: [] })], /INVALID_BOOK field=feederRooms value=\[\] reason=unknown field/],
      [['market', 'clear', '--input', write('missing.json', { ...book, feederRoom: undefined })], /INVALID_BOOK field=feederRoom reason=required/],
      [['market', 'clear', '--input', write('negative.json', { ...book, orders: [{ ...order0, energyWh: -1 }] })], /INVALID_BOOK field=orders\/0\/energyWh value=-1 reason=must be >= 0/],
      [['market', 'clear', '--input', write('fraction.json', { ...book, orders: [{ ...order0, priceMcPerKWh: 6.5 }] })], /INVALID_BOOK field=orders\/0\/priceMcPerKWh value=6.5 reason=must be integer/],
      [['market', 'clear', '--input', write('side.json', { ...book, orders: [{ ...order0, side: 'both' }] })], /INVALID_BOOK field=orders\/0\/side value="both" reason=must be one of buy, sell/],
      [['market', 'clear', '--input', write('pricing.json', { ...book, pricing: 'vickrey' })], /INVALID_BOOK field=pricing value="vickrey"/],
      [['market', 'clear', '--input', write('dup.json', { ...book, orders: [order0, { ...order0, address: 'other' }] })], /DUPLICATE_ORDER_ID index=1 orderId=order-A/],
      [['market', 'clear', '--input', write('dupfeeder.json', { ...book, feederRoom: [book.feederRoom[0], book.feederRoom[0]] })], /DUPLICATE_FEEDER_ROOM epoch=1 feeder=F1/],
      [['market', 'clear', '--input', join(dir, 'absent.json')], /ENOENT/],
      [['market', 'clear', '--input', dir], /not a file/],
      [['market', 'clear'], /--input <file> is required/],
      [['market', 'clear', 'extra', '--input', example], /unexpected argument 'extra'/],
      [['market'], /expected a subcommand: clear/],
      [['market', 'settle', '--input', example], /expected a subcommand: clear/],
      [['market', 'clear', '--input', example, '--max-bytes', '10'], /more than --max-bytes/],
      [['market', 'clear', '--bogus'], /Unknown option/],
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

test('--help documents the input format and lists only the subcommands there are', async () => {
  const r = await run(['market', '--help']);
  assert.equal(r.code, 0);
  for (const s of ['"orders"', '"feederRoom"', '"pricing"', 'inclusion', 'priceMcPerKWh', 'QUANTITY_FILLED', 'FEEDER_LIMIT', 'book.json']) assert.ok(r.stdout.includes(s), s);
  const listed = [...r.stdout.matchAll(/^ {2}([a-z]+) [-[]/gm)].map((m) => m[1]);
  assert.deepEqual(listed, ['clear', 'book', 'trades', 'post']);
});

test('the order limit in tmi market --help is the market code\'s', () => {
  assert.equal(AUDIT_ORDERS_IN_HELP, MAX_AUDIT_ORDERS);
});
