/**
 * What decided each epoch's election, from chain data only (for reports and dashboards;
 * not consensus). Feed it every block with its parent state, in height order.
 *
 *   epochsWithValidators  epochs whose first block ranked at least one validator
 *   decidedByEnergy       of those, epochs whose first place energy decided: a single
 *                         validator, or a better score of interval e − 2, or a better window
 *                         [CPF-window]; the rest were decided by the seed's tie-break
 *   longestBlockGapSlots  the longest run of slots between a block and its parent
 */
import type { BlockHeader } from '../../schemas/types.js';
import type { ChainState } from './chainState.js';
import { decidedBy, rankValidators, seedForEpoch } from './rankingForEpoch.js';

export type Decision = ReturnType<typeof decidedBy>;

export interface PoeEpochRecord {
  epoch: number;
  validators: number;
  /** validators equal to the first on score and window (1 = no tie) */
  tiedAtTop: number;
  decidedBy: Decision;
  /** the producer of the epoch's first block */
  firstProducer: string;
}

/** The election record of an epoch, from the parent state of its first block. */
export function poeEpochRecord(parent: ChainState, header: BlockHeader): PoeEpochRecord {
  const epoch = header.epoch;
  const ranked = rankValidators(parent.sections, epoch, seedForEpoch(parent.meta, epoch), parent.genesis);
  const top = ranked[0];
  const tiedAtTop = top === undefined ? 0 : ranked.filter((v) => v.score === top.score && v.missing === top.missing && v.windowWh === top.windowWh && v.producedWh === top.producedWh).length;
  return { epoch, validators: ranked.length, tiedAtTop, decidedBy: decidedBy(ranked), firstProducer: header.producer };
}

export interface PoeSummary {
  epochs: number;
  epochsWithValidators: number;
  /** epochs decided by energy: single validator, score or window */
  decidedByEnergy: number;
  decidedBy: Record<Exclude<Decision, 'none'>, number>;
  longestBlockGapSlots: number;
  /** the epochs, oldest first (for the dashboard's chart) */
  records: PoeEpochRecord[];
}

export function createPoeTally() {
  const records: PoeEpochRecord[] = [];
  let longestGap = 0;
  return {
    add(parent: ChainState, header: BlockHeader): void {
      longestGap = Math.max(longestGap, header.slot - parent.meta.tipSlot);
      if (header.epoch > parent.meta.rankingEpoch) records.push(poeEpochRecord(parent, header));
    },
    summary(): PoeSummary {
      const by = { single: 0, score: 0, window: 0, seed: 0 };
      for (const r of records) if (r.decidedBy !== 'none') by[r.decidedBy]++;
      const withValidators = records.filter((r) => r.validators > 0).length;
      return {
        epochs: records.length,
        epochsWithValidators: withValidators,
        decidedByEnergy: by.single + by.score + by.window,
        decidedBy: by,
        longestBlockGapSlots: longestGap,
        records,
      };
    },
  };
}
