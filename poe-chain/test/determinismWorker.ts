/**
 * Applies a chain (genesis + blocks, JSON file given as argv[2]) in a fresh process and
 * prints {stateRoot, tipHash, height}: the determinism test runs it twice.
 */
import { readFileSync } from 'node:fs';
import { parseGenesis } from '../core/genesis.js';
import { createGenesisState, stateRoot } from '../core/chainState.js';
import { validateAndApplyBlock } from '../core/validateAndApplyBlock.js';

const input = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as { genesis: unknown; blocks: unknown[] };
let state = createGenesisState(parseGenesis(input.genesis));
for (const b of input.blocks) state = validateAndApplyBlock(state, b, { now: Number.MAX_SAFE_INTEGER }).state;
process.stdout.write(JSON.stringify({ stateRoot: stateRoot(state), tipHash: state.tipHash, height: state.meta.height }) + '\n');
