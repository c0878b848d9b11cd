/**
 * [BROKER-ID] The broker's error-signing address, pinned by the HEM: from its config
 * (`brokerAddress`), else the registry's `GET /v1/broker-key` on first use, kept in the
 * HEM's store (like the registry key). A pinned address never changes by itself: if the
 * registry later serves another one, the HEM keeps its pin and says so (`broker-key-changed`);
 * an operator who rotated the broker key sets `brokerAddress` in the config.
 */
import type { Logger } from 'pino';
import type { RegistryClient } from '../csm-registry/client.js';
import type { HemStore } from './hemStore.js';

export interface BrokerPin {
  /** the pinned address, or undefined while none is known (then any broker-signed error is taken) */
  current(): string | undefined;
  /** loads the pin from the store, else asks the registry once; never throws */
  load(): Promise<void>;
}

const KEY = 's:brokerAddress';

export function createBrokerPin(o: { configured?: string; store: HemStore; registry: Pick<RegistryClient, 'brokerKey'>; log: Logger }): BrokerPin {
  let pinned = o.configured;
  return {
    current: () => pinned,
    async load() {
      if (o.configured !== undefined) return;
      pinned ??= await o.store.get<string>(KEY);
      let served: string | undefined;
      try {
        served = (await o.registry.brokerKey()).address;
      } catch (err) {
        if (pinned === undefined) o.log.warn({ event: 'broker-key-unknown', err: (err as Error).message }, 'cannot learn the broker key from the registry: broker errors are not pinned yet');
        return;
      }
      if (pinned === undefined) {
        pinned = served;
        await o.store.commit([{ type: 'put', key: KEY, value: served }]);
        o.log.info({ event: 'broker-key-pinned', address: served }, 'broker key pinned (first use, from the registry)');
      } else if (served !== pinned) {
        o.log.warn({ event: 'broker-key-changed', pinned, served }, 'the registry serves another broker key than the pinned one: keeping the pin (set brokerAddress to change it)');
      }
    },
  };
}
