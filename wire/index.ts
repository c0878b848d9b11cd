export * from './canonicalJson.js';
export * from './keys.js';
export * from './keyFile.js';
export * from './errors.js';
export * from './quantities.js';
export * from './replayGuard.js';
export * from './codec.js';
export * from './loginToken.js';
