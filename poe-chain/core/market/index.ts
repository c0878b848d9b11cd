/** The peer-to-peer market's pure clearing: shared by the chain, the CLI and the benchmark. See README.md. */
export * from './marketError.js';
export * from './clearMarket.js';
export * from './marketWelfare.js';
export * from './marketAudit.js';
