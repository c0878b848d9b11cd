import { notBuilt } from '../command.js';

export const analytics = notBuilt('analytics', 'run the analytics service and dashboard', 'analytics issue #7');
