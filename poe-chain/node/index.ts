/** The networked chain node: mempool, slot loop, import, fork choice, sync over MQTT. */
export * from './createChainNode.js';
export * from './chainQueries.js';
export * from './mempool.js';
export * from './nodeTopics.js';
export * from './syncProtocol.js';
export * from './equivocationWatch.js';
export * from './blockTree.js';
export * from './pendingBlocks.js';
export * from './verifiedCodec.js';
export { runNode, runNodeCommand, RUN_NODE_OPTIONS, RUN_NODE_HELP } from './runNodeCommand.js';
