/** Test fixtures for the broker: meters in an in-memory directory, signed messages, MQTT clients. */
import { connectAsync, type IClientOptions, type MqttClient } from 'mqtt';
import { signAndEncode, type SignOptions } from '../../wire/codec.js';
import { generateKeyPair, type KeyPair } from '../../wire/keys.js';
import { makeLoginToken } from '../../wire/loginToken.js';
import type { BidOffer } from '../../schemas/types.js';
import { createMemoryDirectory, type MemoryDirectory, type Role } from '../meterDirectory.js';
import { createTmiBroker, type TmiBroker, type TmiBrokerOptions } from '../createTmiBroker.js';

export interface TestMeter {
  meterId: string;
  key: KeyPair;
  /** a pseudonym certified to the meter */
  pseudonym: KeyPair;
}

export function enrollMeter(dir: MemoryDirectory, meterId: string, role: Role = 'hem'): TestMeter {
  const key = generateKeyPair();
  const pseudonym = generateKeyPair();
  dir.enroll({ meterId, publicKey: key.address, role });
  dir.certify(meterId, pseudonym.address);
  return { meterId, key, pseudonym };
}

export interface TestBroker {
  broker: TmiBroker;
  dir: MemoryDirectory;
  url: string;
}

export async function startBroker(extra: Partial<TmiBrokerOptions> = {}, dir = createMemoryDirectory()): Promise<TestBroker> {
  const broker = await createTmiBroker({ directory: dir, listeners: { mqtt: { port: 0 } }, ...extra });
  return { broker, dir, url: `mqtt://127.0.0.1:${broker.ports.mqtt}` };
}

export function loginOptions(m: TestMeter, extra: IClientOptions = {}): IClientOptions {
  return {
    clientId: m.meterId,
    username: m.meterId,
    password: makeLoginToken(m.key, m.meterId),
    reconnectPeriod: 0,
    connectTimeout: 5000,
    ...extra,
  };
}

export function login(url: string, m: TestMeter, extra: IClientOptions = {}): Promise<MqttClient> {
  return connectAsync(url, loginOptions(m, extra));
}

/** Resolves to the CONNACK return code of a refused connection; throws if it was accepted. */
export async function refusedCode(url: string, opts: IClientOptions): Promise<number> {
  try {
    const c = await connectAsync(url, { reconnectPeriod: 0, connectTimeout: 5000, ...opts });
    await c.endAsync();
  } catch (err) {
    return (err as { code?: number }).code ?? -1;
  }
  throw new Error('expected the connection to be refused');
}

export function bidOffer(p: KeyPair, auctionId: string, extra: Partial<BidOffer> = {}): BidOffer {
  return {
    auctionId,
    address: p.address,
    cpf: 0.72,
    feeder: 'F1',
    bid: { type: 'sell', energy: { unit: 'kWh', value: 1.5 }, price: { unit: 'cents/kWh', value: 8.2 } },
    ...extra,
  } as BidOffer;
}

export function signedBid(p: KeyPair, auctionId: string, o: SignOptions = {}, extra: Partial<BidOffer> = {}): Buffer {
  return signAndEncode(p, 'bid-offer', bidOffer(p, auctionId, extra), o);
}

export interface Received {
  topic: string;
  payload: Buffer;
}

/** Collects messages on a client's subscriptions; waitFor resolves when a predicate holds. */
export class Inbox {
  readonly messages: Received[] = [];
  private waiters: { pred: () => boolean; resolve: () => void }[] = [];

  constructor(readonly client: MqttClient) {
    client.on('message', (topic, payload) => {
      this.messages.push({ topic, payload });
      this.waiters = this.waiters.filter((w) => {
        if (!w.pred()) return true;
        w.resolve();
        return false;
      });
    });
  }

  static async subscribe(client: MqttClient, topics: string | string[], qos: 0 | 1 = 0): Promise<Inbox> {
    const inbox = new Inbox(client);
    const granted = await client.subscribeAsync(topics, { qos });
    for (const g of granted) if (g.qos === 128) throw new Error(`SUBSCRIBE_DENIED topic=${g.topic}`);
    return inbox;
  }

  on(topic: string): Received[] {
    return this.messages.filter((m) => m.topic === topic);
  }

  /** the error codes received on tmi/v1/clients/+/errors */
  errors(): { code: string; reqId?: string; topic?: string; reason: string; clientId: string }[] {
    return this.messages
      .filter((m) => /^tmi\/v1\/clients\/[^/]+\/errors$/.test(m.topic))
      .map((m) => {
        const env = JSON.parse(m.payload.toString('utf8')) as { clientId: string; parameters: { code: string; reqId?: string; topic?: string; reason: string } };
        return { ...env.parameters, clientId: env.clientId };
      });
  }

  waitFor(pred: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
    if (pred()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.resolve !== done);
        reject(new Error(`TIMEOUT waiting for ${what} after ${timeoutMs} ms (have ${this.messages.length} messages)`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(t);
        resolve();
      };
      this.waiters.push({ pred, resolve: done });
    });
  }
}

/** a client that reads every message and never sends a PUBACK (mqtt.js, its acknowledgement dropped) */
export function neverAck(c: MqttClient): void {
  const internal = c as unknown as { _sendPacket: (packet: { cmd: string }, cb?: () => void, ...rest: unknown[]) => void };
  const send = internal._sendPacket.bind(c);
  internal._sendPacket = (packet, cb, ...rest) => (packet.cmd === 'puback' ? cb?.() : send(packet, cb, ...rest));
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
