/** fast-check arbitraries shared by the market tests: small books with many ties. */
import fc from 'fast-check';
import type { MarketBook } from '../../core/market/clearMarket.js';

const FEEDERS = ['F0', 'F1', 'F2', 'F3'];

/**
 * Books of up to 12 orders on 4 feeders, each of F0–F2 listed with a room (0–10 Wh each
 * way) or not, F3 never; energies 0–6 Wh and prices 0–8 mc/kWh so that ties, empty
 * orders and binding rooms are common. With `sharedAddresses` the addresses come from a
 * pool of 5, so duplicates are common too. orderIds are unique but not in index order.
 */
export const bookArb = (sharedAddresses: boolean): fc.Arbitrary<MarketBook> =>
  fc
    .record({
      epoch: fc.integer({ min: 0, max: 5 }),
      pricing: fc.constantFrom<'uniform' | 'pay-as-bid'>('uniform', 'pay-as-bid'),
      rooms: fc.array(fc.option(fc.record({ exportWh: fc.integer({ min: 0, max: 10 }), importWh: fc.integer({ min: 0, max: 10 }) }), { nil: undefined }), { minLength: 3, maxLength: 3 }),
      orders: fc.array(
        fc.record({
          side: fc.constantFrom<'buy' | 'sell'>('buy', 'sell'),
          feeder: fc.integer({ min: 0, max: 3 }),
          energyWh: fc.oneof({ arbitrary: fc.integer({ min: 1, max: 6 }), weight: 6 }, { arbitrary: fc.constant(0), weight: 1 }),
          price: fc.integer({ min: 0, max: 8 }),
          inclusion: fc.integer({ min: 0, max: 5 }),
          idPrefix: fc.constantFrom('a', 'b', 'c'),
          who: fc.integer({ min: 0, max: 4 }),
        }),
        { maxLength: 12, size: 'max' },
      ),
    })
    .map((g) => ({
      epoch: g.epoch,
      pricing: g.pricing,
      feederRoom: g.rooms.flatMap((r, f) => (r === undefined ? [] : [{ feeder: FEEDERS[f]!, ...r }])),
      orders: g.orders.map((o, i) => ({
        orderId: `${o.idPrefix}${i}`,
        address: sharedAddresses ? `home-${o.who}` : `home-${i}`,
        feeder: FEEDERS[o.feeder]!,
        side: o.side,
        energyWh: o.energyWh,
        priceMcPerKWh: o.price,
        inclusion: o.inclusion,
      })),
    }));
