/**
 * The platform's own MQTT principals: each logs in to the broker like any meter
 * (username = id, password = a token signed by its key), so each must be enrolled in
 * the registry with its role.
 */
import type { RegistryClient } from '../csm-registry/client.js';
import type { KeyPair } from '../wire/keys.js';

export interface Principal {
  meterId: string;
  role: 'aggregator' | 'node' | 'analytics' | 'admin';
  key: KeyPair;
}

/** Enrols each principal unless it is already enrolled with the same key. */
export async function enrollPrincipals(client: RegistryClient, principals: readonly Principal[], feeder = 'TMP'): Promise<void> {
  for (const p of principals) {
    const existing = await client.findMeter(p.meterId);
    if (existing) {
      if (existing.publicKey !== p.key.address) {
        throw new Error(`PRINCIPAL_KEY_MISMATCH meterId=${p.meterId} registry=${existing.publicKey} file=${p.key.address}`);
      }
      if (existing.status !== 'active') throw new Error(`PRINCIPAL_REVOKED meterId=${p.meterId}`);
      continue;
    }
    await client.enroll({
      meterId: p.meterId,
      serial: `svc-${p.meterId}`,
      meterType: 'service',
      publicKey: p.key.address,
      feeder,
      programme: 'TE',
      role: p.role,
    });
  }
}
