// The update journal on disk: one JSON file per in-flight update, written
// atomically (temp file, fsync, rename, fsync of the directory) with mode 0600,
// so a crash leaves either the previous record or the new one, never half of one.
import { randomBytes } from 'node:crypto';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { BadRequest } from '../../errors.ts';
import type { InFlightUpdate, UpdateJournal } from './types.ts';

const STEPS = ['inspect', 'pull', 'stop', 'rename', 'create', 'start', 'health', 'cleanup', 'rollback', 'restored'] as const;
const ID_PATTERN = /^[A-Za-z0-9_-]{1,100}$/;

/** The journal record's shape, shared with the self-update updater's output (src/updates/self-update/protocol.ts). */
export const inFlightSchema = z.object({
  id: z.string().regex(ID_PATTERN),
  containerName: z.string().min(1),
  oldContainerId: z.string().min(1),
  backupName: z.string().min(1),
  newContainerId: z.string().min(1).optional(),
  wasRunning: z.boolean(),
  phase: z.enum(STEPS),
  startedAt: z.number(),
  host: z.string().optional(),
  oldImageId: z.string().optional(),
  newImageId: z.string().optional(),
  configFingerprints: z.record(z.string(), z.string()).optional(),
});

/** Journal ids become file names: refuse anything that could leave the directory. */
export function checkUpdateId(id: string): string {
  if (!ID_PATTERN.test(id)) throw new BadRequest(`update id "${id}": use 1-100 of [A-Za-z0-9_-]`, 'updateId');
  return id;
}

export class FileUpdateJournal implements UpdateJournal {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
  }

  #file(id: string): string {
    return path.join(this.dir, `${checkUpdateId(id)}.json`);
  }

  async save(rec: InFlightUpdate): Promise<void> {
    const record = inFlightSchema.parse(rec);
    await fsp.mkdir(this.dir, { recursive: true, mode: 0o700 });
    const tmp = path.join(this.dir, `.${record.id}.${randomBytes(6).toString('hex')}.tmp`);
    const handle = await fsp.open(tmp, 'wx', 0o600);
    try {
      await handle.writeFile(`${JSON.stringify(record)}\n`);
      await handle.sync();
    } finally {
      await handle.close();
    }
    try {
      await fsp.rename(tmp, this.#file(record.id));
    } catch (error) {
      await fsp.rm(tmp, { force: true });
      throw error;
    }
    await this.#syncDir();
  }

  async clear(id: string): Promise<void> {
    await fsp.rm(this.#file(id), { force: true });
    await this.#syncDir();
  }

  /** Every record, oldest first. A file that does not parse is an error naming it, not skipped. */
  async list(): Promise<InFlightUpdate[]> {
    let names: string[];
    try {
      names = await fsp.readdir(this.dir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    const records: InFlightUpdate[] = [];
    for (const name of names.filter((n) => n.endsWith('.json') && !n.startsWith('.'))) {
      const file = path.join(this.dir, name);
      const parsed = inFlightSchema.safeParse(JSON.parse(await fsp.readFile(file, 'utf8')));
      if (!parsed.success) throw new Error(`update journal ${file}: not a valid record: ${parsed.error.message}`);
      records.push(parsed.data);
    }
    return records.sort((a, b) => a.startedAt - b.startedAt);
  }

  /** The rename is durable only once the directory entry is on disk. */
  async #syncDir(): Promise<void> {
    let handle: fsp.FileHandle | undefined;
    try {
      handle = await fsp.open(this.dir, 'r');
      await handle.sync();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    } finally {
      await handle?.close();
    }
  }
}

/** For tests and callers that need no durability (the server's direct hosts may choose this). */
export class MemoryUpdateJournal implements UpdateJournal {
  readonly #records = new Map<string, InFlightUpdate>();

  async save(rec: InFlightUpdate): Promise<void> {
    this.#records.set(checkUpdateId(rec.id), structuredClone(rec));
  }

  async clear(id: string): Promise<void> {
    this.#records.delete(id);
  }

  async list(): Promise<InFlightUpdate[]> {
    return [...this.#records.values()].map((r) => structuredClone(r)).sort((a, b) => a.startedAt - b.startedAt);
  }
}
