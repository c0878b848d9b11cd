export * from './chainStoreError.js';
export * from './openChainStore.js';
export * from './verifyChain.js';
export * from './chainDataDir.js';
