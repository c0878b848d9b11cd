import { notBuilt } from '../command.js';

export const enroll = notBuilt('enroll', 'enroll a meter in the registry from a HEM public key file', 'TMP services issue #3');
