import { notBuilt } from '../command.js';

export const simulate = notBuilt('simulate', 'simulate a whole day of the platform and write a report', 'analytics issue #7');
