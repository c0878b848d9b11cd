import { notBuilt } from '../command.js';

export const hem = notBuilt('hem', 'run a Home Energy Manager', 'HEM issue #4');
