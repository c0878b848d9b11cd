/**
 * RFC 8785 JSON Canonicalization Scheme (JCS).
 *
 * - object members sorted by UTF-16 code units of their names (JS default sort order)
 * - strings escaped as ECMAScript JSON.stringify does (RFC 8785 §3.2.2.2)
 * - numbers serialised as ECMAScript Number.prototype.toString (RFC 8785 §3.2.2.3),
 *   which JSON.stringify does; NaN and ±Infinity are not JSON and are refused
 * - no whitespace
 */
export class CanonicalJsonError extends Error {
  readonly code = 'NOT_CANONICALIZABLE';
  constructor(reason: string, readonly path: string) {
    super(`NOT_CANONICALIZABLE path=${path || '/'} reason=${reason}`);
  }
}

export function canonicalize(value: unknown): string {
  try {
    return write(value, undefined);
  } catch (err) {
    if (!(err instanceof CanonicalJsonError)) throw err;
    return write(value, ''); // again, tracking paths, to say where the problem is
  }
}

export function canonicalBytes(value: unknown): Buffer {
  return Buffer.from(canonicalize(value), 'utf8');
}

/**
 * `path` undefined: paths are not tracked (the common case; canonicalisation runs several
 * times per transaction, and building a path string for every member is wasted work).
 */
function write(value: unknown, path: string | undefined): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      // [RFC8785-3.2.2.3] only finite numbers exist in I-JSON
      if (!Number.isFinite(value)) throw new CanonicalJsonError('non-finite number', path ?? '');
      return JSON.stringify(value);
    case 'string':
      return JSON.stringify(value);
    case 'object': {
      if (Array.isArray(value)) {
        let out = '[';
        for (let i = 0; i < value.length; i++) {
          if (i > 0) out += ',';
          out += write(value[i], path === undefined ? undefined : `${path}/${i}`);
        }
        return out + ']';
      }
      const obj = value as Record<string, unknown>;
      // [RFC8785-3.2.3] sort by UTF-16 code units; Array.prototype.sort does exactly that
      const keys = Object.keys(obj).sort();
      let out = '{';
      let first = true;
      for (const k of keys) {
        const v = obj[k];
        if (v === undefined) continue; // undefined members are absent in JSON
        if (!first) out += ',';
        first = false;
        out += JSON.stringify(k) + ':' + write(v, path === undefined ? undefined : `${path}/${k}`);
      }
      return out + '}';
    }
    default:
      throw new CanonicalJsonError(`unsupported type ${typeof value}`, path ?? '');
  }
}
