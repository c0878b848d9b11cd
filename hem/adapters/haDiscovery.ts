/**
 * Home Assistant MQTT discovery (optional): retained `homeassistant/sensor/<id>/config`
 * messages that make the HEM's SOC, last bid, award and expected earnings appear as
 * entities, read from one retained JSON status topic. Pure: builds the messages.
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
  template: string;
}

const ENTITIES: readonly Entity[] = [
  { key: 'soc', name: 'Battery SOC', unit: '%', deviceClass: 'battery', template: '{{ value_json.socPercent }}' },
  { key: 'last_bid', name: 'Last bid', unit: 'Wh', deviceClass: 'energy', template: '{{ value_json.lastBidWh }}' },
  { key: 'last_bid_type', name: 'Last bid side', template: '{{ value_json.lastBidType }}' },
  { key: 'award', name: 'Last award', unit: 'Wh', deviceClass: 'energy', template: '{{ value_json.awardWh }}' },
  { key: 'earnings', name: 'Expected earnings', unit: 'cents', template: '{{ value_json.earningsCents }}' },
  { key: 'queued', name: 'Messages queued', template: '{{ value_json.queued }}' },
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
  });
}
