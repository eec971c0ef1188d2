// Update windows (SPEC S15 "schedule"): when automatic updates may run, as a
// cron expression. A window opens at each fire time of its expression and stays
// open for a duration (default 1 h), so `0 3 * * *` means "03:00–04:00 every day".
//
// Expressions are standard five-field crontab (minute hour day-of-month month
// day-of-week; names like MON and JAN, ranges, lists, steps, the nicknames
// @hourly @daily @weekly @monthly @yearly). They are read in UTC unless they
// start with `CRON_TZ=<IANA zone> ` (cronie's convention), so the stored string
// says everything: `CRON_TZ=Europe/Berlin 0 3 * * SAT,SUN`. Day-of-month and
// day-of-week combine with OR when both are restricted, as in Vixie cron.
//
// The server keeps a default window and a host may override it
// (`effectiveWindow`); no window at all means automatic updates may run at any time.
import { Cron } from 'croner';
import { BadRequest } from '../errors.ts';

export const DEFAULT_WINDOW_MS = 60 * 60 * 1000;
export const MIN_CHECK_INTERVAL_MS = 60 * 1000;

export interface UpdateWindow {
  /** The expression as given (trimmed), including any CRON_TZ= prefix. */
  expression: string;
  /** The cron fields alone. */
  pattern: string;
  timezone: string;
}

const TZ_PREFIX = /^CRON_TZ=(\S+)\s+(.*)$/;
const parsed = new Map<string, { window: UpdateWindow; cron: Cron }>();

/** Validates an update window expression; throws BadRequest naming the expression and what is wrong with it. */
export function parseWindow(expression: string): UpdateWindow {
  return compile(expression).window;
}

/**
 * True when `at` falls inside a window: some fire time f of the expression has
 * f <= at < f + durationMs. Windows longer than the gap between fire times overlap
 * into one longer open period.
 */
export function isInWindow(expression: string, at: Date, durationMs: number = DEFAULT_WINDOW_MS): boolean {
  checkDuration(durationMs);
  const { cron } = compile(expression);
  // The first fire time strictly after (at - duration) is the only one that can still be open at `at`.
  const first = cron.nextRun(new Date(at.getTime() - durationMs));
  return first !== null && first.getTime() <= at.getTime();
}

/** The next time a window opens strictly after `from`; null if the expression never fires again. */
export function nextWindow(expression: string, from: Date): Date | null {
  return compile(expression).cron.nextRun(from);
}

/**
 * When the window open at `at` closes (the end of the open period, overlapping windows joined),
 * or null when `at` is outside every window.
 */
export function windowClosesAt(expression: string, at: Date, durationMs: number = DEFAULT_WINDOW_MS): Date | null {
  if (!isInWindow(expression, at, durationMs)) return null;
  const { cron } = compile(expression);
  let end = cron.nextRun(new Date(at.getTime() - durationMs))!.getTime() + durationMs;
  // Join windows that open before the current one closes; bounded, in case every minute fires.
  for (let i = 0; i < 10_000; i++) {
    const next = cron.nextRun(new Date(end - durationMs));
    if (!next || next.getTime() >= end) break;
    end = next.getTime() + durationMs;
  }
  return new Date(end);
}

/** A host's own window wins over the server default; empty strings count as "not set". Undefined: no window, always open. */
export function effectiveWindow(hostWindow: string | null | undefined, serverWindow: string | null | undefined): string | undefined {
  const host = hostWindow?.trim();
  if (host) return host;
  const server = serverWindow?.trim();
  return server || undefined;
}

/**
 * A check interval: a whole number of milliseconds (number or digits), or a
 * number with a unit — `90s`, `30m`, `6h`, `1d`, also combined: `1h30m`.
 * At least one minute: registries rate-limit, and a check cycle is not free.
 */
export function parseCheckInterval(value: string | number, name = 'check interval'): number {
  let ms: number;
  if (typeof value === 'number') {
    ms = value;
  } else {
    const text = value.trim().toLowerCase();
    if (/^\d+$/.test(text)) {
      ms = Number(text);
    } else {
      if (!/^(\d+(\.\d+)?(ms|s|m|h|d))+$/.test(text)) {
        throw new BadRequest(`${name} "${value}" is not a duration: use milliseconds or a number with a unit (ms, s, m, h, d), e.g. 30m or 6h`, name);
      }
      ms = 0;
      for (const m of text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d)/g)) ms += Number(m[1]) * UNIT_MS[m[2]!]!;
    }
  }
  if (!Number.isFinite(ms) || ms < MIN_CHECK_INTERVAL_MS) {
    throw new BadRequest(`${name} "${value}" is too short: the minimum is 1 minute`, name);
  }
  return Math.round(ms);
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

function checkDuration(durationMs: number): void {
  if (!Number.isFinite(durationMs) || durationMs <= 0) {
    throw new BadRequest(`update window duration ${durationMs} ms must be a positive number of milliseconds`, 'windowDuration');
  }
}

function compile(expression: string): { window: UpdateWindow; cron: Cron } {
  const cached = parsed.get(expression);
  if (cached) return cached;
  const text = expression.trim();
  const tz = TZ_PREFIX.exec(text);
  const timezone = tz ? tz[1]! : 'UTC';
  const pattern = (tz ? tz[2]! : text).trim();
  const bad = (why: string) => new BadRequest(`update window "${expression}" is not a valid cron expression: ${why}`, 'window');
  if (!pattern) throw bad('it is empty');
  if (!isTimeZone(timezone)) throw bad(`unknown time zone "${timezone}" (use an IANA name such as Europe/Berlin)`);
  let cron: Cron;
  try {
    // No callback: croner only evaluates the pattern and starts no timer.
    cron = new Cron(pattern, { mode: '5-part', timezone });
  } catch (err) {
    throw bad((err instanceof Error ? err.message : String(err)).replace(/^CronPattern:\s*/, ''));
  }
  if (cron.nextRun(new Date()) === null) throw bad('it never fires');
  const entry = { window: { expression: text, pattern, timezone }, cron };
  if (parsed.size >= 256) parsed.delete(parsed.keys().next().value!);
  parsed.set(expression, entry);
  return entry;
}

function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}
