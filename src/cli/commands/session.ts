// `flotilla setup`, `login`, `logout`: get an API token for this machine and
// keep it in the CLI config file, or give it back.
import os from 'node:os';
import type { Command } from 'commander';
import { z } from 'zod';
import { ApiClient, ApiError, apiPath } from '../client/api-client.ts';
import { cliConfigPath, readCliConfig, resolveConnection, writeCliConfig } from '../client/config-file.ts';
import { emit } from '../client/output.ts';
import { readPassword } from '../client/password.ts';
import { parseServerUrl, type ClientFlags } from './common.ts';

const createdTokenSchema = z.object({ id: z.string(), name: z.string(), prefix: z.string(), token: z.string() });
const tokenListSchema = z.array(z.object({ id: z.string(), name: z.string(), prefix: z.string() }));

interface SignInFlags {
  url: string;
  username: string;
  passwordStdin?: boolean;
  json?: boolean;
}

export function registerSessionCommands(program: Command): void {
  program.command('setup')
    .description('first run: create the admin account with the server\'s setup code, then sign in')
    .requiredOption('--url <url>', 'Flotilla server URL, e.g. http://127.0.0.1:8080', parseServerUrl)
    .requiredOption('--username <name>', 'admin user name')
    .requiredOption('--code <setup-code>', 'setup code printed by the server at start')
    .option('--password-stdin', 'read the password from stdin (else $FLOTILLA_PASSWORD, else a prompt)')
    .option('--json', 'print machine-readable JSON')
    .action(async (flags: SignInFlags & { code: string }) => {
      const password = await readPassword({ fromStdin: Boolean(flags.passwordStdin), envVar: 'FLOTILLA_PASSWORD', prompt: 'New admin password: ', confirm: true });
      const client = new ApiClient({ url: flags.url });
      await client.request('POST', '/setup', { body: { setupCode: flags.code, username: flags.username, password } }).catch((err: unknown) => {
        // Once an admin exists the setup route wants a signed-in user, so a stranger sees 401.
        if (err instanceof ApiError && err.status === 401) {
          throw new Error(`setup is already complete on ${flags.url}: sign in with "flotilla login --url ${flags.url} --username NAME"`);
        }
        throw err;
      });
      await signIn(client, flags, password, 'created admin');
    });

  program.command('login')
    .description('sign in and save an API token for this machine')
    .requiredOption('--url <url>', 'Flotilla server URL', parseServerUrl)
    .requiredOption('--username <name>', 'user name')
    .option('--password-stdin', 'read the password from stdin (else $FLOTILLA_PASSWORD, else a prompt)')
    .option('--json', 'print machine-readable JSON')
    .action(async (flags: SignInFlags) => {
      const password = await readPassword({ fromStdin: Boolean(flags.passwordStdin), envVar: 'FLOTILLA_PASSWORD', prompt: 'Password: ' });
      await signIn(new ApiClient({ url: flags.url }), flags, password, 'signed in as');
    });

  program.command('logout')
    .description('revoke the saved API token on the server and forget it')
    .option('--url <url>', 'Flotilla server URL (default: $FLOTILLA_URL, else the saved login)', parseServerUrl)
    .option('--token <token>', 'API token to revoke (default: $FLOTILLA_TOKEN, else the saved login)')
    .option('--json', 'print machine-readable JSON')
    .action(logout);
}

/** Password login → session cookie → a token named cli@<hostname> → saved; the session is then ended. */
async function signIn(client: ApiClient, flags: SignInFlags, password: string, verb: string): Promise<void> {
  const { cookie, csrfToken } = await client.login(flags.username, password);
  const session = new ApiClient({ url: flags.url, cookie, csrfToken });
  const created = await session.request('POST', '/tokens', { body: { name: `cli@${os.hostname()}` }, schema: createdTokenSchema });
  await session.request('POST', '/auth/logout').catch(() => undefined); // the token is what we keep; a lingering session expires on its own
  const file = cliConfigPath();
  await writeCliConfig(file, { url: flags.url, token: created.token, username: flags.username });
  emit(flags.json, { url: flags.url, username: flags.username, tokenId: created.id, tokenName: created.name, config: file },
    () => `${verb} ${flags.username} on ${flags.url}\ntoken "${created.name}" saved to ${file}`);
}

async function logout(flags: ClientFlags): Promise<void> {
  const file = cliConfigPath();
  const saved = await readCliConfig(file);
  const conn = resolveConnection(flags, process.env, saved);
  const client = new ApiClient(conn);
  let revoked = false;
  try {
    const mine = await client.request('GET', '/tokens', { schema: tokenListSchema });
    const match = mine.find((t) => t.prefix === conn.token.slice(0, 12));
    if (match) {
      await client.request('DELETE', apiPath`/tokens/${match.id}`);
      revoked = true;
    }
  } catch (err) {
    // A token the server no longer accepts is as good as revoked; forget it below.
    if (!(err instanceof ApiError && err.status === 401)) throw err;
  }
  const forgotten = saved.token === conn.token;
  if (forgotten) await writeCliConfig(file, { url: saved.url, username: saved.username });
  emit(flags.json, { url: conn.url, revoked, forgotten }, () => [
    revoked ? `token revoked on ${conn.url}` : `the token was no longer valid on ${conn.url}`,
    ...(forgotten ? [`removed it from ${file}`] : []),
  ].join('\n'));
}
