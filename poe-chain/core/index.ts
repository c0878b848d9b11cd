/** The pure chain core: no I/O. See ../README.md. */
export * from './chainError.js';
export * from './hashing.js';
export * from './genesis.js';
export * from './hashedMap.js';
export * from './chainState.js';
export * from './txId.js';
export * from './merkleRoot.js';
export * from './blockHash.js';
export * from './rankingForEpoch.js';
export * from './electProducer.js';
export * from './applyTransaction.js';
export * from './blockLifecycle.js';
export * from './auctionContract.js';
export * from './validateAndApplyBlock.js';
export * from './buildBlock.js';
export * from './forkChoice.js';
export type { TxContext } from './tx/txContext.js';
