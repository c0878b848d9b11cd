import { notBuilt } from '../command.js';

export const auction = notBuilt('auction', 'audit tools: clear an auction from a JSON file with the same code the chain runs', 'aggregator issue #6');
