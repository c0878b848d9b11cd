import { formatOptions, parseCommandLine, type OptionSpec } from '../config.js';
import type { Command } from '../command.js';

const spec: OptionSpec = {
  data: { type: 'string', describe: 'data directory; the chain database is <data>/chain', default: 'tmi-data' },
  limit: { type: 'string', describe: 'most payments listed, newest first (0: none)', default: '50' },
  'scan-blocks': { type: 'string', describe: 'transfers: how many of the newest blocks are read for them (0: all)', default: '10000' },
};

/** millicents → cents as an exact decimal string (3 decimals). */
export function millicentsToCents(mc: bigint): string {
  const neg = mc < 0n;
  const a = neg ? -mc : mc;
  return `${neg ? '-' : ''}${a / 1000n}.${String(a % 1000n).padStart(3, '0')}`;
}

export const wallet: Command = {
  name: 'wallet',
  help: `Usage: tmi wallet <address> --data <dir> [--limit N] [--scan-blocks N]

Prints the balance of <address> (lowercase hex public key) from the stored chain:
millicents (the chain's integer unit, exact) and cents. A balance may be negative
(penalties; the aggregator's clearing account).

Final and unconfirmed [FIN]: a block at or below the final height never reverts; money
moved by a block above it is unconfirmed (a reorg could still undo it). The final height
used is the larger of this directory's node record of its own final checkpoint (what the
node's finality gadget reached when it last ran: finalizedHeightFrom.nodeRecord) and the
checkpoint proven on chain by justification transactions (finalizedHeightFrom.provenOnChain);
finalizedHeightSource says which. The output gives the balance at the head (millicents,
cents, height: as before), the balance at the final block (final), the change since
(unconfirmedChange), block rewards both ways, and the payments: each settlement (auctions,
P2P market) and fee the state still holds and each transfer in the newest --scan-blocks
blocks, newest first, with the block that moved it and its status: final or unconfirmed.

${formatOptions(spec)}
`,
  async run(argv) {
    const [{ balanceOf }, { chainDbPath, openChainStoreAt }, { paymentsOf, transfersOf }] = await Promise.all([
      import('../../poe-chain/core/chainState.js'),
      import('../../poe-chain/store/chainDataDir.js'),
      import('../../poe-chain/node/chainQueries.js'),
    ]);
    const fail = (msg: string): number => {
      process.stderr.write(`tmi wallet: ${msg}\n`);
      return 1;
    };
    let parsed;
    try {
      parsed = parseCommandLine(argv, spec);
    } catch (err) {
      return fail((err as Error).message);
    }
    const address = parsed.positionals[0];
    if (address === undefined || !/^[0-9a-f]{64}$/.test(address)) return fail('expected an address: 64 lowercase hex characters');
    const count = (name: string): number | undefined => {
      const v = String(parsed.values[name]);
      return /^[0-9]{1,9}$/.test(v) ? Number(v) : undefined;
    };
    const limit = count('limit');
    const scan = count('scan-blocks');
    if (limit === undefined) return fail('--limit must be a whole number');
    if (scan === undefined) return fail('--scan-blocks must be a whole number');
    const data = String(parsed.values.data);
    let store;
    try {
      store = await openChainStoreAt(data);
    } catch (err) {
      return fail(`cannot open ${chainDbPath(data)}: ${(err as Error).message}`);
    }
    try {
      const head = store.head;
      const state = store.state;
      // [FIN] the final height: the node's own record or the chain's proof, whichever is higher
      const recText = await store.nodeRecord('final');
      let nodeRecord: number | null = null;
      if (recText !== undefined) {
        const h = (JSON.parse(recText) as { height?: unknown }).height;
        if (typeof h === 'number' && Number.isSafeInteger(h) && h >= 0) nodeRecord = Math.min(h, head.height);
      }
      const proven = state.meta.finalized.height;
      const finalizedHeight = Math.max(proven, nodeRecord ?? 0);
      const source = nodeRecord !== null && nodeRecord > proven ? 'node' : 'chain';
      const finalState = await store.stateAt(finalizedHeight);
      const mc = balanceOf(state, address);
      const finalMc = balanceOf(finalState, address);
      const rewards = BigInt(state.sections.rewards.get(address) ?? '0');
      const finalRewards = BigInt(finalState.sections.rewards.get(address) ?? '0');
      const statusOf = (h: number) => (h <= finalizedHeight ? 'final' : 'unconfirmed');
      // payments: settlements and fees the head state holds, transfers from the newest blocks
      const from = scan === 0 ? 1 : Math.max(1, head.height - scan + 1);
      const payments = paymentsOf(state, address);
      for (let h = head.height; h >= from; h--) {
        const b = await store.blockAt(h);
        if (b) payments.push(...transfersOf(b, address));
      }
      payments.sort((x, y) => y.height - x.height);
      const money = (v: bigint) => ({ millicents: v.toString(), cents: millicentsToCents(v) });
      process.stdout.write(
        JSON.stringify(
          {
            address,
            // at the head (as before): final + unconfirmed change
            millicents: mc.toString(),
            cents: millicentsToCents(mc),
            height: head.height,
            known: state.sections.wallets.has(address),
            final: { ...money(finalMc), height: finalizedHeight },
            unconfirmedChange: { ...money(mc - finalMc), fromHeight: finalizedHeight + 1, toHeight: head.height },
            finalizedHeight,
            finalizedHeightSource: source,
            finalizedHeightFrom: { nodeRecord, provenOnChain: proven },
            finalizedHeightUsed:
              `the larger of this directory's node record of its final checkpoint (${nodeRecord ?? 'none'}) and the checkpoint proven on chain (${proven}): ` +
              (source === 'node' ? 'the node record' : 'the chain\'s proof'),
            blockRewards: { atHead: money(rewards), final: money(finalRewards), unconfirmed: money(rewards - finalRewards) },
            payments: payments.slice(0, limit).map((p) => ({ ...p, cents: millicentsToCents(BigInt(p.millicents)), status: statusOf(p.height) })),
            paymentsListed: Math.min(limit, payments.length),
            paymentsFound: payments.length,
            paymentsUnconfirmed: payments.filter((p) => p.height > finalizedHeight).length,
            transfersScannedFromHeight: from,
          },
          null,
          2,
        ) + '\n',
      );
      return 0;
    } finally {
      await store.close({ snapshot: false });
    }
  },
};
