/** poe-chain: the pure core (./core) and its level storage (./store). */
export * from './core/index.js';
export * from './store/index.js';
