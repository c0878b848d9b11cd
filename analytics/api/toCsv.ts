/**
 * CSV (RFC 4180): a header row, then one row per item; CRLF line ends. A field with a
 * comma, quote or line break is quoted; a field that a spreadsheet would read as a
 * formula (leading = + - @ on a non-number) is prefixed with a quote character.
 */
export type Cell = string | number | boolean | null | undefined;

export interface Table {
  columns: readonly string[];
  rows: readonly (readonly Cell[])[];
}

function field(v: Cell): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : '';
  let s = String(v);
  if (/^[=+\-@\t\r]/.test(s) && !/^[+-]?[0-9.]+([eE][+-]?[0-9]+)?$/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function toCsv(t: Table): string {
  const lines = [t.columns.map(field).join(',')];
  for (const r of t.rows) lines.push(r.map(field).join(','));
  return lines.join('\r\n') + '\r\n';
}

/** A table from objects: the given columns, in order. */
export function tableOf<T extends object>(items: readonly T[], columns: readonly (keyof T & string)[]): Table {
  return { columns, rows: items.map((it) => columns.map((c) => it[c] as Cell)) };
}
