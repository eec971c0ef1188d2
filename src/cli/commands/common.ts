// What every client command shares: the connection flags (--url, --token,
// --json), building the API client from them, and argument parsers whose
// errors name the option (commander turns them into exit code 2).
import { InvalidArgumentError, type Command } from 'commander';
import { ApiClient } from '../client/api-client.ts';
import { cliConfigPath, normalizeServerUrl, readCliConfig, resolveConnection } from '../client/config-file.ts';

export interface ClientFlags {
  url?: string;
  token?: string;
  json?: boolean;
}

/** A sub-command that talks to the server: it takes --url, --token and --json. */
export function clientCommand(parent: Command, name: string, description: string): Command {
  return parent.command(name)
    .description(description)
    .option('--url <url>', 'Flotilla server URL (default: $FLOTILLA_URL, else the saved login)', parseServerUrl)
    .option('--token <token>', 'API token (default: $FLOTILLA_TOKEN, else the saved login)')
    .option('--json', 'print machine-readable JSON');
}

/** A command group such as `host`; its sub-commands do the work. */
export function commandGroup(program: Command, name: string, description: string): Command {
  return program.command(name).description(description);
}

export async function connect(flags: ClientFlags): Promise<ApiClient> {
  const saved = await readCliConfig(cliConfigPath());
  return new ApiClient(resolveConnection(flags, process.env, saved));
}

export function parseServerUrl(value: string): string {
  try {
    return normalizeServerUrl(value);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

/** An integer parser for an option or argument, bounded, with the bounds in its message. */
export function intInRange(min: number, max: number): (value: string) => number {
  return (value: string) => {
    if (!/^-?\d+$/.test(value.trim())) throw new InvalidArgumentError(`must be a whole number (${min}–${max})`);
    const n = Number(value);
    if (n < min) throw new InvalidArgumentError(`must be at least ${min}`);
    if (n > max) throw new InvalidArgumentError(`must be at most ${max}`);
    return n;
  };
}

/** For repeatable `--env K=V` style options: checks the shape and collects them. */
export function collectKeyValue(value: string, previous: string[] | undefined): string[] {
  if (!/^[^=\s][^=]*=/.test(value)) throw new InvalidArgumentError(`expected KEY=VALUE, got "${value}"`);
  return [...(previous ?? []), value];
}

/** ["A=1", "B=x=y"] → { A: "1", B: "x=y" } */
export function keyValueRecord(pairs: string[] | undefined): Record<string, string> | undefined {
  if (!pairs?.length) return undefined;
  return Object.fromEntries(pairs.map((p) => {
    const eq = p.indexOf('=');
    return [p.slice(0, eq), p.slice(eq + 1)];
  }));
}
