// What the CLI prints: aligned tables, key/value blocks, JSON, and the small
// formatters (ages, sizes, short ids) they use.

export type Cell = string | number | null | undefined;

/** Columns padded to their widest cell, two spaces apart; the last column is not padded. */
export function renderTable(headers: string[], rows: Cell[][]): string {
  const text = rows.map((r) => headers.map((_, i) => cellText(r[i])));
  const widths = headers.map((h, i) => Math.max(h.length, ...text.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(headers), ...text.map(line)].join('\n') + '\n';
}

/** `Key:   value` lines, keys aligned; null/undefined values are shown as "-". */
export function renderFields(fields: Array<[string, Cell]>): string {
  const width = Math.max(...fields.map(([k]) => k.length)) + 1;
  return fields.map(([k, v]) => `${(k + ':').padEnd(width)}  ${cellText(v)}`).join('\n') + '\n';
}

function cellText(v: Cell): string {
  if (v === null || v === undefined || v === '') return '-';
  return String(v);
}

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value ?? null, null, 2) + '\n');
}

export function print(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : text + '\n');
}

/** Prints JSON when asked, else the human rendering. */
export function emit(json: boolean | undefined, value: unknown, human: () => string): void {
  if (json) printJson(value);
  else print(human());
}

/** "12s ago", "5m ago", "3h ago", "2d ago"; "never" for null. */
export function ago(iso: string | number | null | undefined, now = Date.now()): string {
  if (iso === null || iso === undefined || iso === '') return 'never';
  const at = typeof iso === 'number' ? iso * 1000 : Date.parse(iso);
  if (Number.isNaN(at)) return String(iso);
  const s = Math.max(0, Math.round((now - at) / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ago`;
  return `${Math.floor(s / 86400)}d ago`;
}

export function formatBytes(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '-';
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let v = n;
  let u = 0;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return `${u === 0 ? v : v.toFixed(v < 10 ? 2 : 1)}${units[u]}`;
}

/** Docker ids as `docker ps` shows them: 12 hex characters, without "sha256:". */
export function shortId(id: unknown): string {
  if (typeof id !== 'string') return '-';
  return id.replace(/^sha256:/, '').slice(0, 12);
}

export function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : typeof v === 'number' ? String(v) : undefined;
}

export function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

/** A Docker object's field as an object (for nested reads without `any`). */
export function obj(v: unknown): Record<string, unknown> {
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

export function list(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}
