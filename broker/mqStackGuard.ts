/**
 * Stack guard for aedes' in-memory message queue (mqemitter 7).
 *
 * When more than `concurrency` messages are in flight, mqemitter queues the rest and,
 * as each finishes, starts the next one from inside the finishing call. A message with
 * no subscriber finishes synchronously, so a long queue drains as one ever deeper call
 * chain and the broker dies with "Maximum call stack size exceeded" under load (a known
 * mqemitter issue; the fix suggested upstream is a sync-depth counter). This replaces
 * the instance's `_do` with the same steps plus that counter: past `maxDepth` nested
 * calls the delivery continues on the next turn of the event loop. Order is kept: the
 * message is taken from the queue and counted in flight before the deferral.
 */
interface MqInternals {
  _doing: boolean;
  current: number;
  _matcher: { match(topic: string): unknown };
  _parallel(that: unknown, matches: unknown, message: unknown, callback: unknown): void;
  _do(message: { topic: string }, callback: unknown): unknown;
}

export function guardMqRecursion(mq: unknown, maxDepth = 200): void {
  const m = mq as Partial<MqInternals> | null;
  if (!m || typeof m._do !== 'function' || typeof m._parallel !== 'function' || typeof m._matcher?.match !== 'function' || typeof m.current !== 'number') {
    throw new Error('MQEMITTER_UNSUPPORTED the aedes message queue is not the expected mqemitter');
  }
  const q = m as MqInternals;
  let depth = 0;
  q._do = function guardedDo(this: MqInternals, message: { topic: string }, callback: unknown) {
    this._doing = true;
    const matches = this._matcher.match(message.topic);
    this.current++;
    if (depth >= maxDepth) {
      setImmediate(() => this._parallel(this, matches, message, callback));
      return this;
    }
    depth++;
    try {
      this._parallel(this, matches, message, callback);
    } finally {
      depth--;
    }
    return this;
  };
}
