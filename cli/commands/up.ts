import { notBuilt } from '../command.js';

export const up = notBuilt('up', 'run broker, registry, aggregator, chain node and analytics in one process', 'TMP services issue #3');
