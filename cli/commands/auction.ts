import { readFile, stat } from 'node:fs/promises';
import { formatOptions, parseCommandLine, type OptionSpec } from '../config.js';
import type { Command } from '../command.js';

/** MAX_AUDIT_BIDS of auctionAudit.ts, written here so that --help need not import the
 * auction code; cli/test/commands.test.ts checks that the two agree. (Grouped by hand:
 * toLocaleString loads ICU data, 20 ms.) */
export const AUDIT_BIDS_IN_HELP = 1_000_000;

const spec: OptionSpec = {
  input: { type: 'string', short: 'i', env: 'TMI_AUCTION_INPUT', describe: 'auction file to clear (JSON, format above)' },
  format: { type: 'string', env: 'TMI_AUCTION_FORMAT', describe: "'audit' (allocation, payments, exclusions) or 'auction-result' (the wire parameters)", default: 'audit' },
  'no-verify': { type: 'boolean', env: 'TMI_AUCTION_NO_VERIFY', describe: 'do not verify the signatures of signed envelopes', default: false },
  'max-bytes': { type: 'string', env: 'TMI_AUCTION_MAX_BYTES', describe: 'largest input file accepted', default: String(512 * 1024 * 1024) },
};

/** JSON with every bigint written as its exact decimal integer (money is never a float). */
export function exactJson(value: unknown): string {
  const marks: string[] = [];
  const text = JSON.stringify(value, (_k, v: unknown) => {
    if (typeof v !== 'bigint') return v;
    marks.push(v.toString());
    return `\u0000bigint:${marks.length - 1}\u0000`;
  }, 2);
  return text.replace(/"\\u0000bigint:(\d+)\\u0000"/g, (_m, i: string) => marks[Number(i)]!);
}

export const auction: Command = {
  name: 'auction',
  help: `Usage: tmi auction clear --input auction.json [--format audit|auction-result] [--no-verify]

Clears an auction with exactly the chain's auction contract and prints the result as
JSON on stdout: awards (energy, price, payment), exclusions with their reasons, the
clearing price, energy per feeder, and the bids the chain would refuse. Money
(paymentMc, totalPaymentMc, millicents) is printed as exact integers. Exit code 0 on
success; 1 on a bad input file, on an auction-open the chain refuses (BAD_AUCTION), and
when an --format auction-result output would not validate against its schema.

Input file (wire units, as in the message schemas):
  {
    "auction": <auction-open parameters, or a signed auction-open envelope>,
    "close":   <auction-close parameters or signed envelope>          (optional),
    "feederLimits": [{"feeder":"F1","maxExportWh":5000,"maxImportWh":5000}]  (optional)
               the registry's limits; auction.feederLimits only tighten them
               (min, as on chain); a feeder in neither is unlimited,
    "aggregatorPublicKey": "<hex>"   (optional) key of a signed auction whose
               clientId is not an address,
    "bids": [
      {"inclusion": 0, "reqId": "<16-64 chars [A-Za-z0-9_-]>", "parameters": <bid-offer parameters>},
      {"inclusion": 1, "envelope": <signed bid-offer envelope>},
      ...                                                   (at most ${String(AUDIT_BIDS_IN_HELP).replace(/\B(?=(\d{3})+$)/g, ',')})
    ],
    "reveals": [ {"parameters": <bid-reveal parameters>} | {"envelope": <signed bid-reveal>} ]
               (optional) a sealed auction's bids are commitments: each counts
               only with its bidder's reveal (else NOT_REVEALED, or BAD_REVEAL)
  }
inclusion = order of inclusion on chain (smaller = earlier; default: position in
"bids"). Signed envelopes are verified (signature; bid-offer address = signer);
dates and replay are not checked. Energies {"unit":"kWh"|"Wh","value":…} and prices
{"unit":"cents/kWh"|"millicents/kWh","value":…} become Wh and millicents/kWh (floor).

Rules: aggregator buy = offers (bid.type "sell") priced at or below the limit, in
ascending price; aggregator sell = bids (bid.type "buy") at or above the limit, in
descending price; ties by inclusion then reqId; each gets min(its energy, energy still
wanted, capacity left on its feeder). pay-as-bid pays each its own price, uniform
the marginal (last accepted) price. payment = floor(Wh × millicents/kWh ÷ 1000).
Only the first bid of an address counts. The chain's range checks apply: an open bid
above 1 GWh or 10^8 millicents/kWh is refused by the chain (BID_OUT_OF_RANGE, listed in
"refused", not cleared); a sealed bid that opens out of range is excluded OUT_OF_RANGE;
an auction-open above 1 GWh or 10^8 millicents/kWh, or of 0 Wh, is an error (BAD_AUCTION).
Exclusion reasons: OUT_OF_RANGE, DUPLICATE_ADDRESS,
ZERO_ENERGY, PRICE_ABOVE_LIMIT, PRICE_BELOW_LIMIT, FEEDER_LIMIT, QUANTITY_FILLED,
WRONG_AUCTION, WRONG_SIDE, OPEN_BID_IN_SEALED_AUCTION, SEALED_BID_IN_OPEN_AUCTION,
NOT_REVEALED, BAD_REVEAL. When the chain clears (the first block at or after closesAt,
plus the reveal window for a sealed auction) needs chain times and is not applied here.

Example: tmi auction clear --input aggregator/examples/auction.json

${formatOptions(spec)}
`,
  async run(argv) {
    const fail = (msg: string): number => {
      process.stderr.write(`tmi auction: ${msg}\n`);
      return 1;
    };
    let parsed;
    try {
      parsed = parseCommandLine(argv, spec);
    } catch (err) {
      return fail((err as Error).message);
    }
    const { values, positionals } = parsed;
    if (positionals[0] !== 'clear' || positionals.length !== 1) return fail("expected the subcommand 'clear' (see tmi auction --help)");
    const input = values.input;
    if (typeof input !== 'string' || input === '') return fail('--input <file> is required');
    const format = String(values.format);
    if (format !== 'audit' && format !== 'auction-result') return fail(`--format must be 'audit' or 'auction-result', not '${format}'`);
    const maxBytes = Number(values['max-bytes']);
    if (!Number.isSafeInteger(maxBytes) || maxBytes <= 0) return fail(`--max-bytes must be a positive integer`);

    let text: string;
    try {
      const st = await stat(input);
      if (!st.isFile()) return fail(`${input}: not a file`);
      if (st.size > maxBytes) return fail(`${input}: ${st.size} bytes, more than --max-bytes ${maxBytes}`);
      text = await readFile(input, 'utf8');
    } catch (err) {
      return fail(`${input}: ${(err as NodeJS.ErrnoException).code ?? ''} ${(err as Error).message}`.trim());
    }
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch (err) {
      return fail(`${input}: not JSON: ${(err as Error).message}`);
    }
    const [{ auditAuction, auditAuctionResult }, { compileSchema }, { auctionResultParams }] = await Promise.all([
      import('../../poe-chain/core/auction/auctionAudit.js'),
      import('../../schemas/validators.js'),
      import('../../schemas/operations.js'),
    ]);
    let report;
    try {
      report = auditAuction(doc, { verify: values['no-verify'] !== true });
    } catch (err) {
      return fail(`${input}: ${(err as Error).message}`);
    }
    if (format === 'audit') {
      process.stdout.write(exactJson(report) + '\n');
      return 0;
    }
    const result = auditAuctionResult(report);
    const validateAuctionResult = compileSchema(auctionResultParams);
    if (!validateAuctionResult(result)) {
      const e = validateAuctionResult.errors?.[0];
      return fail(`${input}: the auction-result would not validate against its schema: ${e?.instancePath || '/'} ${e?.message ?? 'invalid'} (the chain's result for this auction cannot be published; see --format audit)`);
    }
    process.stdout.write(JSON.stringify(result, null, 2) + '\n');
    return 0;
  },
};
