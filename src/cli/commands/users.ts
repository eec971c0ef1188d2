// `flotilla user …` (admins manage accounts) and `flotilla api-token …` (anyone's own
// API tokens; `flotilla token …` is for agent enrollment tokens, see enroll-tokens.ts).
import { Argument, Option, type Command } from 'commander';
import { z } from 'zod';
import { apiPath } from '../client/api-client.ts';
import { emit, printJson, renderTable } from '../client/output.ts';
import { readPassword } from '../client/password.ts';
import { roleSchema, tokenInfoSchema, userSchema } from '../../api/routes/user-schemas.ts';
import { clientCommand, commandGroup, connect, intInRange, type ClientFlags } from './common.ts';

type PasswordFlags = ClientFlags & { passwordStdin?: boolean };

export function registerUserCommands(program: Command): void {
  const user = commandGroup(program, 'user', 'user accounts (admins only)');

  clientCommand(user, 'ls', 'list users').action(async (flags: ClientFlags) => {
    const users = await (await connect(flags)).request('GET', '/users', { schema: z.array(userSchema) });
    emit(flags.json, users, () => renderTable(['USERNAME', 'ROLE', 'ID', 'CREATED'], users.map((u) => [u.username, u.role, u.id, u.created_at])));
  });

  clientCommand(user, 'add', 'create a user (password from --password-stdin or a prompt)').argument('<name>')
    .addOption(new Option('--role <role>', 'what the user may do').choices(roleSchema.options).makeOptionMandatory())
    .option('--password-stdin', 'read the password from stdin')
    .action(async (name: string, flags: PasswordFlags & { role: string }) => {
      const client = await connect(flags);
      const password = await readPassword({ fromStdin: Boolean(flags.passwordStdin), prompt: `Password for ${name}: `, confirm: true });
      const u = await client.request('POST', '/users', { body: { username: name, password, role: flags.role }, schema: userSchema });
      emit(flags.json, u, () => `created user ${u.username} (${u.role})`);
    });

  clientCommand(user, 'set-role', 'change a user\'s role').argument('<name>')
    .addArgument(new Argument('<role>').choices(roleSchema.options))
    .action(async (name: string, role: string, flags: ClientFlags) => {
      const u = await (await connect(flags)).request('PATCH', apiPath`/users/${name}`, { body: { role }, schema: userSchema });
      emit(flags.json, u, () => `${u.username} is now ${u.role}`);
    });

  clientCommand(user, 'passwd', 'set a user\'s password').argument('<name>')
    .option('--password-stdin', 'read the new password from stdin')
    .action(async (name: string, flags: PasswordFlags) => {
      const client = await connect(flags);
      const password = await readPassword({ fromStdin: Boolean(flags.passwordStdin), prompt: `New password for ${name}: `, confirm: true });
      const u = await client.request('PATCH', apiPath`/users/${name}`, { body: { password }, schema: userSchema });
      emit(flags.json, u, () => `password of ${u.username} changed`);
    });

  clientCommand(user, 'rm', 'delete a user').argument('<name>').action(async (name: string, flags: ClientFlags) => {
    await (await connect(flags)).request('DELETE', apiPath`/users/${name}`);
    emit(flags.json, { removed: name }, () => `deleted user ${name}`);
  });

  registerApiTokenCommands(program);
}

function registerApiTokenCommands(program: Command): void {
  const token = commandGroup(program, 'api-token', 'your API tokens (for the CLI, scripts and REST clients)');

  clientCommand(token, 'create', 'create an API token; it is printed once').argument('<name>')
    .option('--ttl-days <days>', 'expire after this many days (1–3650)', intInRange(1, 3650))
    .action(async (name: string, flags: ClientFlags & { ttlDays?: number }) => {
      const schema = tokenInfoSchema.extend({ token: z.string() });
      const t = await (await connect(flags)).request('POST', '/tokens', { body: { name, ttlDays: flags.ttlDays }, schema });
      if (flags.json) {
        printJson(t);
      } else {
        // The token alone on stdout, so TOKEN=$(flotilla api-token create x) works; the note on stderr.
        process.stdout.write(`${t.token}\n`);
        process.stderr.write(`token "${t.name}" created (id ${t.id}${t.expires_at ? `, expires ${t.expires_at}` : ''}).\n`
          + 'Copy it now: it will not be shown again.\n');
      }
    });

  clientCommand(token, 'ls', 'list your API tokens (never the secrets)').action(async (flags: ClientFlags) => {
    const tokens = await (await connect(flags)).request('GET', '/tokens', { schema: z.array(tokenInfoSchema) });
    emit(flags.json, tokens, () => renderTable(
      ['ID', 'NAME', 'PREFIX', 'CREATED', 'EXPIRES', 'LAST USED'],
      tokens.map((t) => [t.id, t.name, `${t.prefix}…`, t.created_at, t.expires_at ?? 'never', t.last_used_at ?? 'never']),
    ));
  });

  clientCommand(token, 'rm', 'revoke one of your API tokens').argument('<id>').action(async (id: string, flags: ClientFlags) => {
    await (await connect(flags)).request('DELETE', apiPath`/tokens/${id}`);
    emit(flags.json, { revoked: id }, () => `revoked token ${id}`);
  });
}
