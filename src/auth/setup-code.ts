// First-run setup is guarded by a one-time code written to the data directory
// (0600) and printed on the server console: whoever reaches the port first
// cannot take over a fresh install without access to the machine.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

export class SetupCode {
  private readonly file: string;
  constructor(dataDir: string) {
    this.file = path.join(dataDir, 'setup-code');
  }

  /** Returns the code, creating it if needed. */
  ensure(): string {
    try {
      return fs.readFileSync(this.file, 'utf8').trim();
    } catch {
      const code = crypto.randomBytes(12).toString('hex');
      fs.writeFileSync(this.file, code + '\n', { mode: 0o600 });
      return code;
    }
  }

  matches(candidate: string): boolean {
    const code = Buffer.from(this.ensure());
    const given = Buffer.from(candidate);
    return code.length === given.length && crypto.timingSafeEqual(code, given);
  }

  consume(): void {
    fs.rmSync(this.file, { force: true });
  }
}
