/**
 * Home Assistant MQTT discovery (optional): retained `homeassistant/sensor/<id>/config`
 * messages that make the HEM's SOC, last bid, award and expected earnings appear as
 * entities, read from one retained JSON status topic. Pure: builds the messages.
 *
 * [HA-ENERGY] For the energy dashboard: energy sensors (device_class energy, Wh) with
 * `state_class: total_increasing`: produced (PV), consumed (home), battery charged and
 * discharged, grid import and export, counted from the HEM's readings since it was set up
 * (energyTotals.ts). [HA-EARN] `settled_earnings` (cents, `state_class: total`: penalties
 * and purchases make it go down) is what settlement on chain paid in final blocks, not the
 * expected value of awards; "unknown" in Home Assistant when the HEM runs no chain node.
 * [HEM-FIN] What is on chain but not final yet is its own entity: `unconfirmed_earnings`
 * (settlements in blocks above the final one), and the wallet as `wallet_final` (the
 * balance at the final block) plus `wallet_unconfirmed` (the change since).
 */
import type { HemStatus } from '../homeDevices.js';

export interface DiscoveryMessage {
  topic: string;
  payload: string;
}

interface Entity {
  key: string;
  name: string;
  unit?: string;
  deviceClass?: string;
  stateClass?: 'total_increasing' | 'total' | 'measurement';
  template: string;
}

const energy = (key: string, name: string, field: string): Entity => ({
  key, name, unit: 'Wh', deviceClass: 'energy', stateClass: 'total_increasing', template: `{{ value_json.energyWh.${field} }}`,
});

const ENTITIES: readonly Entity[] = [
  { key: 'soc', name: 'Battery SOC', unit: '%', deviceClass: 'battery', template: '{{ value_json.socPercent }}' },
  { key: 'last_bid', name: 'Last bid', unit: 'Wh', deviceClass: 'energy', template: '{{ value_json.lastBidWh }}' },
  { key: 'last_bid_type', name: 'Last bid side', template: '{{ value_json.lastBidType }}' },
  { key: 'award', name: 'Last award', unit: 'Wh', deviceClass: 'energy', template: '{{ value_json.awardWh }}' },
  { key: 'earnings', name: 'Expected earnings', unit: 'cents', template: '{{ value_json.earningsCents }}' },
  { key: 'queued', name: 'Messages queued', template: '{{ value_json.queued }}' },
  energy('energy_produced', 'Energy produced (PV)', 'producedWh'),
  energy('energy_consumed', 'Energy consumed (home)', 'consumedWh'),
  energy('battery_charged', 'Battery energy charged', 'chargedWh'),
  energy('battery_discharged', 'Battery energy discharged', 'dischargedWh'),
  energy('grid_import', 'Grid energy imported', 'gridImportWh'),
  energy('grid_export', 'Grid energy exported', 'gridExportWh'),
  { key: 'settled_earnings', name: 'Settled auction earnings, final (received − paid − penalties)', unit: 'cents', stateClass: 'total', template: '{{ value_json.settledEarningsCents }}' },
  // [HEM-FIN] money on chain not final yet, apart from the final figures
  { key: 'unconfirmed_earnings', name: 'Settled auction earnings, not final yet (unconfirmed)', unit: 'cents', stateClass: 'measurement', template: '{{ value_json.settledEarningsUnconfirmedCents }}' },
  { key: 'wallet_final', name: 'Wallet balance, final', unit: 'cents', stateClass: 'measurement', template: '{{ value_json.walletFinalCents }}' },
  { key: 'wallet_unconfirmed', name: 'Wallet change not final yet (unconfirmed)', unit: 'cents', stateClass: 'measurement', template: '{{ value_json.walletUnconfirmedChangeCents }}' },
];

/** A node id safe for HA object ids: [a-zA-Z0-9_-]. */
export function haNodeId(meterId: string): string {
  return `tmi_hem_${meterId.replace(/[^A-Za-z0-9_-]/g, '_')}`;
}

export function discoveryMessages(prefix: string, nodeId: string, statusTopic: string, meterId: string): DiscoveryMessage[] {
  return ENTITIES.map((e) => ({
    topic: `${prefix}/sensor/${nodeId}_${e.key}/config`,
    payload: JSON.stringify({
      name: e.name,
      unique_id: `${nodeId}_${e.key}`,
      state_topic: statusTopic,
      value_template: e.template,
      ...(e.unit ? { unit_of_measurement: e.unit } : {}),
      ...(e.deviceClass ? { device_class: e.deviceClass } : {}),
      ...(e.stateClass ? { state_class: e.stateClass } : {}),
      device: { identifiers: [nodeId], name: `TMI HEM ${meterId}`, manufacturer: 'TMI', model: 'Home Energy Manager' },
    }),
  }));
}

export function statusPayload(s: HemStatus): string {
  return JSON.stringify({
    socPercent: Math.round(s.soc * 1000) / 10,
    lastBidWh: s.lastBidWh,
    lastBidType: s.lastBidType,
    awardWh: s.awardWh,
    earningsCents: s.earningsMillicents / 1000,
    queued: s.queued,
    connected: s.connected,
    ...(s.energyWh ? { energyWh: s.energyWh } : {}),
    // null renders "None": Home Assistant shows unknown, never a 0 it does not know
    ...(s.settledEarningsMillicents !== undefined ? { settledEarningsCents: s.settledEarningsMillicents === null ? null : s.settledEarningsMillicents / 1000 } : {}),
    // [HEM-FIN] final and unconfirmed apart; null (unknown) without a chain node
    ...(s.settledEarningsUnconfirmedMillicents !== undefined ? { settledEarningsUnconfirmedCents: s.settledEarningsUnconfirmedMillicents === null ? null : s.settledEarningsUnconfirmedMillicents / 1000 } : {}),
    ...(s.walletFinalMillicents !== undefined ? { walletFinalCents: s.walletFinalMillicents === null ? null : Number(s.walletFinalMillicents) / 1000 } : {}),
    ...(s.walletUnconfirmedChangeMillicents !== undefined ? { walletUnconfirmedChangeCents: s.walletUnconfirmedChangeMillicents === null ? null : Number(s.walletUnconfirmedChangeMillicents) / 1000 } : {}),
  });
}
