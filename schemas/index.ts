export * from './common.js';
export * from './operations.js';
export * from './chainOperations.js';
export * from './envelope.js';
export * from './validators.js';
export type * from './types.js';
