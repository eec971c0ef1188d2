// Update windows as cron expressions: open at each fire time for a duration,
// the next opening, time zones, bad expressions named; check intervals.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BadRequest } from '../../src/errors.ts';
import {
  parseWindow, isInWindow, nextWindow, windowClosesAt, effectiveWindow, parseCheckInterval, DEFAULT_WINDOW_MS,
} from '../../src/updates/window.ts';

const at = (iso: string) => new Date(iso);
const HOUR = 3_600_000;

test('a window is open from its fire time for the duration (default one hour), closed at the end instant', () => {
  const w = '0 3 * * *';
  assert.equal(DEFAULT_WINDOW_MS, HOUR);
  assert.equal(isInWindow(w, at('2025-03-04T02:59:59.999Z')), false);
  assert.equal(isInWindow(w, at('2025-03-04T03:00:00.000Z')), true);
  assert.equal(isInWindow(w, at('2025-03-04T03:59:59.999Z')), true);
  assert.equal(isInWindow(w, at('2025-03-04T04:00:00.000Z')), false);
  assert.equal(isInWindow(w, at('2025-03-04T04:30:00Z'), 2 * HOUR), true);
  assert.equal(isInWindow(w, at('2025-03-04T03:10:00Z'), 5 * 60_000), false);
});

test('day-of-week windows: weekend nights only', () => {
  const w = '30 1 * * SAT,SUN';
  assert.equal(isInWindow(w, at('2025-03-08T01:45:00Z')), true, 'Saturday');
  assert.equal(isInWindow(w, at('2025-03-10T01:45:00Z')), false, 'Monday');
  assert.equal(nextWindow(w, at('2025-03-10T01:45:00Z'))?.toISOString(), '2025-03-15T01:30:00.000Z');
});

test('a window open over midnight is open on both sides of it', () => {
  const w = '0 23 * * *';
  assert.equal(isInWindow(w, at('2025-03-04T23:30:00Z'), 2 * HOUR), true);
  assert.equal(isInWindow(w, at('2025-03-05T00:59:00Z'), 2 * HOUR), true);
  assert.equal(isInWindow(w, at('2025-03-05T01:00:00Z'), 2 * HOUR), false);
});

test('nextWindow is the next opening strictly after the instant', () => {
  const w = '0 3 * * *';
  assert.equal(nextWindow(w, at('2025-03-04T01:00:00Z'))?.toISOString(), '2025-03-04T03:00:00.000Z');
  assert.equal(nextWindow(w, at('2025-03-04T03:00:00Z'))?.toISOString(), '2025-03-05T03:00:00.000Z');
  assert.equal(nextWindow('@hourly', at('2025-03-04T03:20:00Z'))?.toISOString(), '2025-03-04T04:00:00.000Z');
});

test('windowClosesAt joins overlapping windows and is null outside', () => {
  assert.equal(windowClosesAt('0 3 * * *', at('2025-03-04T03:20:00Z'))?.toISOString(), '2025-03-04T04:00:00.000Z');
  assert.equal(windowClosesAt('0 3 * * *', at('2025-03-04T05:00:00Z')), null);
  assert.equal(windowClosesAt('0 1-3 * * *', at('2025-03-04T01:20:00Z'), 90 * 60_000)?.toISOString(), '2025-03-04T04:30:00.000Z');
});

test('CRON_TZ= reads the fields in that time zone, summer and winter time included', () => {
  const w = 'CRON_TZ=Europe/Berlin 0 3 * * *';
  assert.deepEqual(parseWindow(w), { expression: w, pattern: '0 3 * * *', timezone: 'Europe/Berlin' });
  assert.equal(nextWindow(w, at('2025-01-10T00:00:00Z'))?.toISOString(), '2025-01-10T02:00:00.000Z');
  assert.equal(nextWindow(w, at('2025-07-10T00:00:00Z'))?.toISOString(), '2025-07-10T01:00:00.000Z');
  assert.equal(isInWindow(w, at('2025-07-10T01:30:00Z')), true);
  assert.equal(isInWindow(w, at('2025-07-10T03:30:00Z')), false);
  assert.equal(parseWindow('0 3 * * *').timezone, 'UTC');
});

test('bad expressions are refused with a BadRequest naming the expression', () => {
  const bad = ['', '0 3 * *', '0 3 * * * *', '61 3 * * *', '0 3 * * MONDAY', 'every night', 'CRON_TZ=Mars/Olympus 0 3 * * *', '0 3 30 2 *'];
  for (const expr of bad) {
    assert.throws(() => parseWindow(expr), (err: unknown) => {
      assert.ok(err instanceof BadRequest, `${expr}: ${String(err)}`);
      assert.ok(err.message.includes(`"${expr}"`), err.message);
      return true;
    });
  }
  assert.throws(() => isInWindow('nope', new Date()), BadRequest);
  assert.throws(() => isInWindow('0 3 * * *', new Date(), 0), BadRequest);
  assert.match(String((() => { try { parseWindow('0 3 30 2 *'); } catch (e) { return e; } })()), /never fires/);
});

test('a host window overrides the server default; none means always open', () => {
  assert.equal(effectiveWindow('0 1 * * *', '0 3 * * *'), '0 1 * * *');
  assert.equal(effectiveWindow(null, '0 3 * * *'), '0 3 * * *');
  assert.equal(effectiveWindow('  ', '0 3 * * *'), '0 3 * * *');
  assert.equal(effectiveWindow(undefined, ''), undefined);
});

test('check intervals: units, plain milliseconds, a minimum of one minute', () => {
  assert.equal(parseCheckInterval('6h'), 6 * HOUR);
  assert.equal(parseCheckInterval('30m'), 30 * 60_000);
  assert.equal(parseCheckInterval('1h30m'), 90 * 60_000);
  assert.equal(parseCheckInterval('1d'), 24 * HOUR);
  assert.equal(parseCheckInterval('90s'), 90_000);
  assert.equal(parseCheckInterval(120_000), 120_000);
  assert.equal(parseCheckInterval('60000'), 60_000);
  for (const bad of ['30s', 59_999, '0', '', 'soon', '5 minutes', -1, Number.NaN]) {
    assert.throws(() => parseCheckInterval(bad), BadRequest, String(bad));
  }
  assert.throws(() => parseCheckInterval('10s', 'FLOTILLA_UPDATE_CHECK_INTERVAL'), /FLOTILLA_UPDATE_CHECK_INTERVAL "10s" is too short/);
});
