import { notBuilt } from '../command.js';

export const aggregator = notBuilt('aggregator', 'run the VPP aggregator, or post a VPP bid/offer by hand', 'aggregator issue #6');
