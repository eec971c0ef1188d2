// Update settings (SPEC S15): how often the fleet is checked, the window in
// which `auto` containers update (server default, per-host override), and the
// health gate's defaults, and whether agents follow the server's version. Kept in the settings table as one JSON document,
// validated whole on every change so a bad value never reaches the scheduler.
import { z } from 'zod';
import type { Db } from '../store/db.ts';
import { BadRequest } from '../errors.ts';
import { DEFAULT_WINDOW_MS, parseCheckInterval, parseWindow } from './window.ts';

const KEY = 'updates.settings';

export const updateSettingsSchema = z.object({
  /** Milliseconds between fleet checks; 0 turns the schedule off (checks only when asked). */
  checkIntervalMs: z.number().int().min(0),
  /** Cron expression: when `auto` updates may start (absent: any time). */
  window: z.string().nullable(),
  /** How long a window stays open after each cron fire time. */
  windowDurationMs: z.number().int().min(60_000),
  /** Per-host window, by host id; overrides `window`. */
  hostWindows: z.record(z.string(), z.string()),
  /** Without a healthcheck, how long a new container must keep running to count as healthy. */
  stableMs: z.number().int().min(1000).max(600_000),
  /** Agents whose version differs from the server's update themselves to it (flotilla.self containers). */
  agentSelfUpdate: z.boolean(),
});
export type UpdateSettings = z.infer<typeof updateSettingsSchema>;

export const DEFAULT_UPDATE_SETTINGS: UpdateSettings = {
  checkIntervalMs: 6 * 3_600_000, window: null, windowDurationMs: DEFAULT_WINDOW_MS, hostWindows: {}, stableMs: 10_000, agentSelfUpdate: true,
};

/** What a user may send: durations as `6h`/`30m` or milliseconds. */
export const updateSettingsPatchSchema = z.object({
  checkInterval: z.union([z.string(), z.number()]).optional(),
  window: z.string().nullable().optional(),
  windowDuration: z.union([z.string(), z.number()]).optional(),
  hostWindows: z.record(z.string(), z.string().nullable()).optional(),
  stable: z.union([z.string(), z.number()]).optional(),
  agentSelfUpdate: z.boolean().optional(),
}).strict();
export type UpdateSettingsPatch = z.infer<typeof updateSettingsPatchSchema>;

export class UpdateSettingsStore {
  private readonly db: Db;
  constructor(db: Db) {
    this.db = db;
  }

  async get(): Promise<UpdateSettings> {
    const row = await this.db.selectFrom('settings').select('value').where('key', '=', KEY).executeTakeFirst();
    if (!row) return { ...DEFAULT_UPDATE_SETTINGS };
    const parsed = updateSettingsSchema.safeParse({ ...DEFAULT_UPDATE_SETTINGS, ...(JSON.parse(row.value) as object) });
    return parsed.success ? parsed.data : { ...DEFAULT_UPDATE_SETTINGS };
  }

  /** Applies a patch; `hostWindows` entries set to null are removed. Bad values: 400 naming the field, nothing stored. */
  async update(patch: UpdateSettingsPatch, knownHost: (id: string) => Promise<string | undefined>): Promise<UpdateSettings> {
    const next = await this.get();
    if (patch.checkInterval !== undefined) {
      next.checkIntervalMs = patch.checkInterval === 0 || patch.checkInterval === '0' ? 0 : parseCheckInterval(patch.checkInterval, 'checkInterval');
    }
    if (patch.window !== undefined) next.window = patch.window === null || patch.window.trim() === '' ? null : (parseWindow(patch.window), patch.window.trim());
    if (patch.windowDuration !== undefined) next.windowDurationMs = parseCheckInterval(patch.windowDuration, 'windowDuration');
    if (patch.stable !== undefined) {
      const ms = typeof patch.stable === 'number' ? patch.stable : durationMs(patch.stable, 'stable');
      if (ms < 1000 || ms > 600_000) throw new BadRequest('stable must be between 1s and 10m', 'stable');
      next.stableMs = ms;
    }
    if (patch.agentSelfUpdate !== undefined) next.agentSelfUpdate = patch.agentSelfUpdate;
    for (const [ref, expr] of Object.entries(patch.hostWindows ?? {})) {
      const id = await knownHost(ref);
      if (!id) throw new BadRequest(`hostWindows: no host "${ref}"`, 'hostWindows');
      if (expr === null || expr.trim() === '') delete next.hostWindows[id];
      else {
        parseWindow(expr);
        next.hostWindows[id] = expr.trim();
      }
    }
    const text = JSON.stringify(updateSettingsSchema.parse(next));
    await this.db.insertInto('settings').values({ key: KEY, value: text }).onConflict((oc) => oc.column('key').doUpdateSet({ value: text })).execute();
    return next;
  }
}

function durationMs(text: string, field: string): number {
  const m = /^(\d+)(ms|s|m)?$/.exec(text.trim());
  if (!m) throw new BadRequest(`${field}: "${text}" is not a duration (e.g. 10s, 2m)`, field);
  return Number(m[1]) * ({ ms: 1, s: 1000, m: 60_000 }[m[2] ?? 'ms'] ?? 1);
}
