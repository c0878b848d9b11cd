import { notBuilt } from '../command.js';

export const registry = notBuilt('registry', 'run the Certified Smart Meter registry (HTTP)', 'TMP services issue #3');
