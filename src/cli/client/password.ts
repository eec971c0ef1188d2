// Where the CLI gets a password (or another secret, such as an enrollment token)
// from: stdin (--password-stdin), an environment variable, or a prompt on the
// terminal that does not echo what is typed.

export interface PasswordSource {
  /** Read the whole of stdin (one password, trailing newline dropped). */
  fromStdin: boolean;
  /** Environment variable to take it from, when set (e.g. FLOTILLA_PASSWORD). */
  envVar?: string;
  prompt: string;
  /** Ask twice on a terminal (for new passwords). */
  confirm?: boolean;
  /** What is asked for, in messages; default "password". */
  what?: string;
  /** The flag that reads it from stdin, in messages; default "--password-stdin". */
  stdinFlag?: string;
}

export async function readPassword(source: PasswordSource, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const what = source.what ?? 'password';
  const stdinFlag = source.stdinFlag ?? '--password-stdin';
  if (source.fromStdin) {
    const value = (await readAllStdin()).replace(/\r?\n$/, '');
    if (!value) throw new Error(`${stdinFlag}: stdin was empty`);
    return value;
  }
  if (source.envVar && env[source.envVar]) return env[source.envVar]!;
  if (!process.stdin.isTTY) {
    const envHint = source.envVar ? `, set ${source.envVar},` : '';
    throw new Error(`no ${what}: pass ${stdinFlag}${envHint} or run in a terminal to be prompted`);
  }
  const first = await promptHidden(source.prompt);
  if (!source.confirm) return first;
  const again = await promptHidden('Repeat password: ');
  if (again !== first) throw new Error('the passwords do not match');
  return first;
}

async function readAllStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Raw mode, so keystrokes are not echoed; Ctrl-C cancels, backspace edits. */
function promptHidden(question: string): Promise<string> {
  const stdin = process.stdin;
  process.stderr.write(question);
  stdin.setRawMode(true);
  stdin.setEncoding('utf8');
  stdin.resume();
  return new Promise((resolve, reject) => {
    let value = '';
    const finish = (result: Error | string) => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write('\n');
      if (typeof result === 'string') resolve(result);
      else reject(result);
    };
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n') return finish(value);
        if (ch === '\u0003' || ch === '\u0004') return finish(new Error('cancelled'));
        if (ch === '\u007f' || ch === '\b') value = value.slice(0, -1);
        else value += ch;
      }
    };
    stdin.on('data', onData);
  });
}

/** Any secret that must not echo or land in shell history (enrollment tokens): the same sources as a password. */
export const readSecret = readPassword;
