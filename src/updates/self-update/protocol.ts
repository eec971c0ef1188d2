// What the updater container prints on stdout, one JSON object per line, and
// how its logs are read back. The engine keeps a container's output after it
// exits, so these lines are the updater's result and its journal: a caller
// reading them through any connection to the engine learns the outcome, and,
// when the updater died mid-update, the record that lets the old agent be put back.
import { z } from 'zod';
import { inFlightSchema } from '../recreate/journal.ts';
import type { InFlightUpdate, UpdateResult, UpdateStepEvent } from '../recreate/index.ts';

/** The last line: the update's result. */
export const RESULT_KEY = 'flotillaSelfUpdate';
/** The last line instead of a result: the update was refused or could not run (nothing was changed). */
export const ERROR_KEY = 'flotillaSelfUpdateError';
/** Before every step that changes containers: the in-flight record (null once it is cleared). */
export const JOURNAL_KEY = 'flotillaSelfUpdateJournal';
/** Progress, for whoever follows the logs. */
export const STEP_KEY = 'flotillaSelfUpdateStep';

const STEPS = ['inspect', 'pull', 'stop', 'rename', 'create', 'start', 'health', 'cleanup', 'rollback', 'restored'] as const;

const stepSchema = z.object({
  step: z.enum(STEPS),
  at: z.number(),
  message: z.string(),
  progress: z.object({ current: z.number().optional(), total: z.number().optional(), status: z.string().optional() }).optional(),
});

const resultSchema = z.object({
  outcome: z.enum(['updated', 'rolled_back', 'failed', 'unchanged']),
  containerName: z.string(),
  oldContainerId: z.string(),
  newContainerId: z.string().optional(),
  oldImageId: z.string(),
  newImageId: z.string().optional(),
  fromDigest: z.string().optional(),
  toDigest: z.string().optional(),
  reason: z.string().optional(),
  steps: z.array(stepSchema),
  durationMs: z.number(),
});

export { inFlightSchema };

const errorSchema = z.object({
  /** FlotillaError code: `update_refused`, `not_found`, `bad_request`, `internal` … */
  code: z.string(),
  message: z.string(),
  /** UpdateRefused's reason. */
  reason: z.string().optional(),
});

export type UpdaterError = z.infer<typeof errorSchema>;

export function resultLine(result: UpdateResult): string {
  return JSON.stringify({ [RESULT_KEY]: result });
}

export function errorLine(error: UpdaterError): string {
  return JSON.stringify({ [ERROR_KEY]: error });
}

export function journalLine(record: InFlightUpdate | null): string {
  return JSON.stringify({ [JOURNAL_KEY]: record });
}

export function stepLine(event: UpdateStepEvent): string {
  return JSON.stringify({ [STEP_KEY]: event });
}

export interface UpdaterOutput {
  result?: UpdateResult;
  error?: UpdaterError;
  /** The last journal record, unless it was cleared after it: the update was changing containers. */
  inFlight?: InFlightUpdate;
  steps: UpdateStepEvent[];
}

function parseLine(line: string): Record<string, unknown> | undefined {
  if (!line.startsWith('{"flotillaSelfUpdate')) return undefined;
  try {
    const value: unknown = JSON.parse(line);
    return value !== null && typeof value === 'object' ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Reads the updater's stdout lines. Other lines (a library writing to stdout)
 * are skipped; a line of ours that does not parse is an error naming it, since
 * it would mean a different program answered.
 */
export function parseUpdaterOutput(lines: readonly string[]): UpdaterOutput {
  const out: UpdaterOutput = { steps: [] };
  for (const raw of lines) {
    const fields = parseLine(raw.trim());
    if (fields === undefined) continue;
    if (RESULT_KEY in fields) {
      out.result = parseOrThrow(resultSchema, fields[RESULT_KEY], RESULT_KEY);
      delete out.error;
    } else if (ERROR_KEY in fields) {
      out.error = parseOrThrow(errorSchema, fields[ERROR_KEY], ERROR_KEY);
      delete out.result;
    } else if (JOURNAL_KEY in fields) {
      const record = fields[JOURNAL_KEY];
      if (record === null) delete out.inFlight;
      else out.inFlight = parseOrThrow(inFlightSchema, record, JOURNAL_KEY);
    } else if (STEP_KEY in fields) {
      out.steps.push(parseOrThrow(stepSchema, fields[STEP_KEY], STEP_KEY));
    }
  }
  return out;
}

function parseOrThrow<T>(schema: z.ZodType<T>, value: unknown, key: string): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new Error(`updater output: a "${key}" line that is not valid: ${parsed.error.message}`);
  return parsed.data;
}
