import { notBuilt } from '../command.js';

export const broker = notBuilt('broker', 'run the MQTT broker (TCP, TLS, WebSocket)', 'TMP services issue #3');
