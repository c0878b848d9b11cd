export * from './createRegistry.js';
export * from './registryStore.js';
export * from './registryError.js';
export * from './registrySchemas.js';
export * from './certificate.js';
export * from './certificateRequest.js';
export * from './client.js';
export * from './registryDataDir.js';
