/** The auction contract (DESIGN §8): pure functions shared by the chain, the CLI and the benchmarks. */
export * from './auctionError.js';
export * from './clearAuction.js';
export * from './settleAward.js';
export * from './sealedBid.js';
export * from './auctionVoid.js';
export * from './wireAuction.js';
export * from './auctionAudit.js';
