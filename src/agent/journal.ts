// The offline journal (SPEC A5): every state change the agent observes while
// the server is away, on disk before it counts as observed. One JSON line per
// entry, appended and fsynced; a crash mid-append leaves at most a torn last
// line, which is ignored (it was never written). Entries leave the file only
// after the server acknowledged them (clearThrough rewrites it atomically).
import fs from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from './files.ts';
import type { JournalEntry } from '../proto/generated/flotilla.ts';

export class OfflineJournal {
  readonly file: string;
  private entries: JournalEntry[] = [];
  private lastSeq = 0;
  private writing: Promise<void> = Promise.resolve();

  private constructor(file: string) {
    this.file = file;
  }

  static async open(dir: string): Promise<OfflineJournal> {
    const j = new OfflineJournal(path.join(dir, 'offline-journal.jsonl'));
    await j.load();
    return j;
  }

  get size(): number {
    return this.entries.length;
  }

  pending(): JournalEntry[] {
    return [...this.entries];
  }

  /** Appends one entry durably; resolves once it is on disk. Appends are serialised. */
  append(kind: string, data: unknown, atMs = Date.now()): Promise<JournalEntry> {
    const entry: JournalEntry = { seq: ++this.lastSeq, atMs, kind, dataJson: JSON.stringify(data) };
    const done = this.writing.then(async () => {
      const handle = await fs.open(this.file, 'a', 0o600);
      try {
        await handle.write(JSON.stringify(entry) + '\n');
        await handle.sync();
      } finally {
        await handle.close();
      }
      this.entries.push(entry);
    });
    this.writing = done.catch(() => undefined);
    return done.then(() => entry);
  }

  /**
   * Drops everything up to `seq` (the server has stored it). The file keeps the
   * highest sequence number, so numbering never restarts: the server ignores
   * numbers it has seen, which makes a replay that is sent twice harmless.
   */
  async clearThrough(seq: number): Promise<void> {
    await this.writing;
    const keep = this.entries.filter((e) => e.seq > seq);
    const body = JSON.stringify({ lastSeq: this.lastSeq }) + '\n' + keep.map((e) => JSON.stringify(e) + '\n').join('');
    this.writing = writeFileAtomic(this.file, body, 0o600);
    await this.writing;
    this.entries = keep;
  }

  private async load(): Promise<void> {
    let text = '';
    try {
      text = await fs.readFile(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    let mark = 0;
    for (const line of text.split('\n')) {
      if (!line.trim()) continue;
      try {
        const e = JSON.parse(line) as JournalEntry & { lastSeq?: number };
        if (typeof e.seq === 'number') this.entries.push(e);
        else if (typeof e.lastSeq === 'number') mark = Math.max(mark, e.lastSeq);
      } catch {
        // A torn final line from a crash mid-append: that entry was never durable.
      }
    }
    this.lastSeq = this.entries.reduce((m, e) => Math.max(m, e.seq), mark);
  }
}
