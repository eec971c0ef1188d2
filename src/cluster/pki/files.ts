// File writes for key material: private directory, atomic replace (temp file +
// rename, so a crash never leaves half a key), and create-only (never overwrite).
import crypto from 'node:crypto';
import fs from 'node:fs/promises';

/** Creates `dir` (and parents) as 0700; an existing directory is left as the operator made it. */
export async function ensurePrivateDir(dir: string): Promise<void> {
  const created = await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  // chmod after mkdir: the process umask may have narrowed or widened the mode.
  if (created !== undefined) await fs.chmod(dir, 0o700);
}

export async function readIfExists(file: string): Promise<Buffer | undefined> {
  try {
    return await fs.readFile(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

async function writeTemp(file: string, data: string | Uint8Array, mode: number): Promise<string> {
  const temp = `${file}.${crypto.randomBytes(6).toString('hex')}.tmp`;
  const handle = await fs.open(temp, 'wx', mode);
  try {
    await handle.chmod(mode); // independent of the umask
    await handle.writeFile(data);
    await handle.sync(); // the bytes are on disk before the name points at them
  } catch (err) {
    await handle.close();
    await fs.rm(temp, { force: true });
    throw err;
  }
  await handle.close();
  return temp;
}

/** Replaces `file` atomically: readers see the old content or the new, never a mix. */
export async function writeFileAtomic(file: string, data: string | Uint8Array, mode: number): Promise<void> {
  const temp = await writeTemp(file, data, mode);
  try {
    await fs.rename(temp, file);
  } catch (err) {
    await fs.rm(temp, { force: true });
    throw err;
  }
}

/**
 * Creates `file` with its full content, or returns false when it already exists.
 * link(2) fails on an existing name, so two processes racing cannot both win.
 */
export async function createFileExclusive(file: string, data: string | Uint8Array, mode: number): Promise<boolean> {
  const temp = await writeTemp(file, data, mode);
  try {
    await fs.link(temp, file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    await fs.rm(temp, { force: true });
  }
}
