/**
 * Block producers: blocks made, transactions included and rewards per address, and the
 * share of each. [AN-PS] share = blocks / Σ blocks; rewardShare = rewardMc / Σ rewardMc.
 */
import { ratio, type ReadStore } from './readStore.js';

export interface ProducerRow {
  address: string;
  blocks: number;
  share: number | null;
  txs: number;
  rewardMc: number;
  rewardShare: number | null;
}

export interface Producers {
  height: number | null;
  totalBlocks: number;
  totalTxs: number;
  totalRewardMc: number;
  items: ProducerRow[];
}

export function producers(store: ReadStore): Producers {
  const ps = store.range('producer');
  let totalBlocks = 0;
  let totalTxs = 0;
  let totalRewardMc = 0;
  for (const p of ps) {
    totalBlocks += p.blocks;
    totalTxs += p.txs;
    totalRewardMc += p.rewardMc;
  }
  const items = ps
    .map((p) => ({ address: p.address, blocks: p.blocks, share: ratio(p.blocks, totalBlocks), txs: p.txs, rewardMc: p.rewardMc, rewardShare: ratio(p.rewardMc, totalRewardMc) }))
    .sort((a, b) => b.blocks - a.blocks || (a.address < b.address ? -1 : 1));
  const tip = store.range('block', { reverse: true, limit: 1 })[0];
  return { height: tip?.height ?? null, totalBlocks, totalTxs, totalRewardMc, items };
}
