// The CLI's saved connection (server URL + API token) and how flags, the
// environment and that file combine into the connection a command uses.
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';

const cliConfigSchema = z.object({
  url: z.string().optional(),
  token: z.string().optional(),
  username: z.string().optional(),
});
export type CliConfig = z.infer<typeof cliConfigSchema>;

export interface Connection {
  url: string;
  token: string;
}

/** Not enough to talk to a server; the message says how to sign in. */
export class NotSignedIn extends Error {}

/** $FLOTILLA_CLI_CONFIG, else ~/.config/flotilla/cli.json (honouring XDG_CONFIG_HOME). */
export function cliConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.FLOTILLA_CLI_CONFIG) return path.resolve(env.FLOTILLA_CLI_CONFIG);
  const base = env.XDG_CONFIG_HOME || path.join(os.homedir(), '.config');
  return path.join(base, 'flotilla', 'cli.json');
}

export async function readCliConfig(file: string): Promise<CliConfig> {
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw err;
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new Error(`${file} is not valid JSON: fix or delete it, then run "flotilla login" again`);
  }
  const parsed = cliConfigSchema.safeParse(raw);
  if (!parsed.success) throw new Error(`${file} is not a Flotilla CLI config: ${parsed.error.issues[0]?.message}`);
  return parsed.data;
}

/** Writes atomically; the file holds a token, so it is 0600 in a 0700 directory. */
export async function writeCliConfig(file: string, config: CliConfig): Promise<void> {
  const dir = path.dirname(file);
  await fsp.mkdir(dir, { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  await fsp.writeFile(tmp, JSON.stringify(config, null, 2) + '\n', { mode: 0o600 });
  await fsp.chmod(tmp, 0o600);
  await fsp.rename(tmp, file);
}

/** Accepts `http(s)://host[:port]` with or without a trailing `/` or `/api/v1`. */
export function normalizeServerUrl(raw: string): string {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new Error(`"${raw}" is not a URL (expected e.g. http://127.0.0.1:8080)`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error(`"${raw}" must start with http:// or https://`);
  if (u.search || u.hash) throw new Error(`"${raw}" must not have a query or fragment`);
  const pathname = u.pathname.replace(/\/+$/, '').replace(/\/api\/v1$/, '');
  return `${u.protocol}//${u.host}${pathname}`;
}

export interface ConnectionFlags {
  url?: string;
  token?: string;
}

/**
 * Flags win over FLOTILLA_URL / FLOTILLA_TOKEN, which win over the saved file.
 * A saved token is only sent to the server it was saved for.
 */
export function resolveConnection(flags: ConnectionFlags, env: NodeJS.ProcessEnv, saved: CliConfig): Connection {
  const rawUrl = flags.url ?? (env.FLOTILLA_URL || undefined);
  let url: string | undefined;
  if (rawUrl !== undefined) {
    try {
      url = normalizeServerUrl(rawUrl);
    } catch (err) {
      throw new NotSignedIn(`${flags.url !== undefined ? '--url' : 'FLOTILLA_URL'}: ${(err as Error).message}`);
    }
  } else {
    url = saved.url;
  }
  if (!url) {
    throw new NotSignedIn('no Flotilla server configured: sign in with "flotilla login --url URL --username NAME" (or pass --url / set FLOTILLA_URL)');
  }
  const token = flags.token ?? (env.FLOTILLA_TOKEN || (saved.url === url ? saved.token : undefined));
  if (!token) {
    throw new NotSignedIn(`not signed in to ${url}: run "flotilla login --url ${url} --username NAME" (or pass --token / set FLOTILLA_TOKEN)`);
  }
  return { url, token };
}
