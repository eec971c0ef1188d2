// `flotilla registry …`: the registries Flotilla checks for image updates and
// pulls from (SPEC S15). The password is read from stdin or a prompt, never from
// an argument, and never shown: `ls` says only whether one is set.
import { z } from 'zod';
import type { Command } from 'commander';
import { apiPath } from '../client/api-client.ts';
import { emit, renderTable } from '../client/output.ts';
import { readPassword } from '../client/password.ts';
import { registryViewSchema, type RegistryView } from '../../store/registries-repo.ts';
import { clientCommand, commandGroup, connect, intInRange, type ClientFlags } from './common.ts';

const registryListSchema = z.array(registryViewSchema.extend({ stats: z.object({ requests: z.number(), errors: z.number(), rateLimited: z.number() }).optional() }));

interface AddFlags extends ClientFlags {
  username?: string;
  passwordStdin?: boolean;
  insecure?: boolean;
  skipTlsVerify?: boolean;
  concurrency?: number;
}

export function registerRegistryCommands(program: Command): void {
  const registry = commandGroup(program, 'registry', 'registries checked for image updates, with their credentials');

  clientCommand(registry, 'add', 'add a registry (host[:port] as image references name it; docker.io for Docker Hub)').argument('<host>')
    .option('--username <name>', 'user name (the password comes from --password-stdin or a prompt)')
    .option('--password-stdin', 'read the password from stdin')
    .option('--insecure', 'plain HTTP (no TLS)')
    .option('--skip-tls-verify', 'TLS without verifying the certificate')
    .option('--concurrency <n>', 'requests at once to this registry (1–64)', intInRange(1, 64))
    .action(async (host: string, flags: AddFlags) => {
      if (flags.passwordStdin && flags.username === undefined) throw new Error('--password-stdin needs --username');
      const client = await connect(flags);
      const password = flags.username === undefined ? undefined
        : await readPassword({ fromStdin: Boolean(flags.passwordStdin), prompt: `Password for ${flags.username}@${host}: ` });
      const r = await client.request('POST', '/registries', {
        body: { host, username: flags.username, password, insecure: flags.insecure, skipTlsVerify: flags.skipTlsVerify, concurrency: flags.concurrency },
        schema: registryViewSchema,
      });
      emit(flags.json, r, () => `added registry ${r.host}${r.username ? ` (user ${r.username})` : ''}`);
    });

  clientCommand(registry, 'ls', 'list registries (passwords are never shown)').action(async (flags: ClientFlags) => {
    const rows = await (await connect(flags)).request('GET', '/registries', { schema: registryListSchema });
    emit(flags.json, rows, () => renderTable(['HOST', 'USERNAME', 'PASSWORD', 'TRANSPORT', 'CONCURRENCY', 'REQUESTS', 'ERRORS', 'RATE LIMITED'],
      rows.map((r) => [r.host, r.username, r.hasPassword ? 'has-password' : 'none', transport(r), r.concurrency, r.stats?.requests ?? 0, r.stats?.errors ?? 0, r.stats?.rateLimited ?? 0])));
  });

  clientCommand(registry, 'rm', 'remove a registry and its credentials').argument('<host>', 'host[:port] or id').action(async (host: string, flags: ClientFlags) => {
    await (await connect(flags)).request('DELETE', apiPath`/registries/${host}`);
    emit(flags.json, { removed: host }, () => `removed registry ${host}`);
  });
}

function transport(r: RegistryView): string {
  if (r.insecure) return 'http';
  return r.skipTlsVerify ? 'https (unverified)' : 'https';
}
