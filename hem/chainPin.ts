/**
 * [DOMAIN-TX] The chain the HEM signs its transactions for: its genesis hash, which every
 * chain transaction names (`chain`) and the chain refuses without (CHAIN_MISSING) or with
 * another (WRONG_CHAIN). Learnt at start, in this order:
 *   1. the config's `genesisHash` (a pin);
 *   2. the genesis file of the home's own chain node (`chain.genesis`);
 *   3. the registry's `GET /v1/chain`, kept in the HEM's store for a start without the
 *      registry (the registry that certifies the home's pseudonyms says which chain they
 *      are for: a later answer that differs replaces the kept one, logged `chain-changed`).
 * A pin (1 or 2) that differs from what the registry serves is a misconfigured home: the HEM
 * refuses to start (BAD_CONFIG), rather than sign for a chain that would refuse it all. An
 * unreachable registry is not fatal: the pin, else the kept hash, else none yet (`load`
 * is called again until one is known; what is signed meanwhile is signed again with it by
 * the outbox, outboxPump.ts [HEM-Q8]).
 */
import { readFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import type { RegistryClient } from '../csm-registry/client.js';
import { HemError } from './hemError.js';
import type { HemStore } from './hemStore.js';

export interface ChainPin {
  /** the genesis hash to sign chain transactions for, or undefined while none is known */
  current(): string | undefined;
  /** learns it (see above); throws HemError BAD_CONFIG when a pin contradicts the registry */
  load(): Promise<void>;
}

const KEY = 's:genesisHash';

/** `{chain}` for signEnvelope while the chain is known, else nothing. */
export function chainOption(genesisHash: (() => string | undefined) | undefined): { chain?: string } {
  const c = genesisHash?.();
  return c !== undefined ? { chain: c } : {};
}

export function createChainPin(o: {
  /** the config's `genesisHash` */
  configured?: string;
  /** the genesis file of the home's chain node */
  genesisFile?: string;
  store: HemStore;
  registry: Pick<RegistryClient, 'chain'>;
  log: Logger;
}): ChainPin {
  let current: string | undefined;
  let pinned: { hash: string; from: string } | undefined;
  let pinsRead = false;

  async function readPins(): Promise<void> {
    if (pinsRead) return;
    pinsRead = true;
    if (o.genesisFile !== undefined) {
      const { parseGenesis } = await import('../poe-chain/core/genesis.js');
      let hash: string;
      try {
        hash = parseGenesis(JSON.parse(await readFile(o.genesisFile, 'utf8'))).hash;
      } catch (err) {
        throw new HemError('BAD_CONFIG', { path: '/chain/genesis', reason: `genesis not read: ${(err as Error).message}` });
      }
      if (o.configured !== undefined && o.configured !== hash) {
        throw new HemError('BAD_CONFIG', { path: '/genesisHash', reason: 'differs from the chain node genesis', expected: hash, got: o.configured });
      }
      pinned = { hash, from: 'genesis file' };
    }
    if (o.configured !== undefined) pinned = { hash: o.configured, from: 'config' };
    current = pinned?.hash ?? (await o.store.get<string>(KEY));
  }

  return {
    current: () => current,
    async load() {
      await readPins();
      let served: string;
      try {
        served = (await o.registry.chain()).genesisHash;
      } catch (err) {
        const level = current === undefined ? 'warn' : 'info';
        o.log[level]({ event: 'chain-unknown', known: current, err: (err as Error).message }, current === undefined ? 'cannot learn the chain from the registry: chain transactions wait for it' : 'registry does not say the chain: keeping the known one');
        return;
      }
      if (pinned !== undefined) {
        if (served !== pinned.hash) {
          throw new HemError('BAD_CONFIG', { path: pinned.from === 'config' ? '/genesisHash' : '/chain/genesis', reason: `the registry serves another chain than the ${pinned.from}`, expected: served, got: pinned.hash });
        }
        return;
      }
      if (served !== current) {
        if (current !== undefined) o.log.warn({ event: 'chain-changed', was: current, now: served }, 'the registry serves another chain: signing for it from now on');
        else o.log.info({ event: 'chain-learnt', genesisHash: served }, 'chain learnt from the registry');
        current = served;
        await o.store.commit([{ type: 'put', key: KEY, value: served }]);
      }
    },
  };
}
