import { notBuilt } from '../command.js';

export const wallet = notBuilt('wallet', 'show the wallet balance of an address', 'PoE chain issue #5');
