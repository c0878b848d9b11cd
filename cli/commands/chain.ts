import { notBuilt } from '../command.js';

export const chain = notBuilt('chain', 'chain node tools', ' status, verify, run a node:PoE chain issue #5');
