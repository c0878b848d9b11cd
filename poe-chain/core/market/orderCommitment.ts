/**
 * Sealed P2P orders by commit–reveal [MKT-SEAL] (as [AUC-11] for auction bids):
 *
 *   commitment = hex SHA-256("TMI/v1/order-commitment" ‖ 0x00 ‖ RFC 8785 canonical JSON of
 *                {orderId, address, side, energyWh, priceMcPerKWh, salt})
 *
 * The order id, the address and the side bind the commitment to one order of one home; the
 * salt (32 random bytes, hex, kept by the home until it reveals) makes it unguessable from
 * the few plausible quantities and prices. Randomness is an argument; it defaults to node:crypto.
 */
import { randomBytes } from 'node:crypto';
import { canonicalize } from '../../../wire/canonicalJson.js';
import { taggedHash } from '../hashing.js';

export const ORDER_COMMITMENT_DOMAIN = 'TMI/v1/order-commitment';

export interface OpenOrder {
  orderId: string;
  address: string;
  side: 'buy' | 'sell';
  energyWh: number;
  priceMcPerKWh: number;
  /** 64 hex characters */
  salt: string;
}

/** [MKT-SEAL] the commitment of an order, hex. */
export function orderCommitment(o: OpenOrder): string {
  return taggedHash(
    ORDER_COMMITMENT_DOMAIN,
    canonicalize({ orderId: o.orderId, address: o.address, side: o.side, energyWh: o.energyWh, priceMcPerKWh: o.priceMcPerKWh, salt: o.salt }),
  ).toString('hex');
}

/** [MKT-SEAL] seals an order: its commitment and the salt the home keeps to reveal it. */
export function sealOrder(o: Omit<OpenOrder, 'salt'>, random: (n: number) => Uint8Array = randomBytes): { commitment: string; salt: string } {
  const salt = Buffer.from(random(32)).toString('hex');
  return { commitment: orderCommitment({ ...o, salt }), salt };
}
