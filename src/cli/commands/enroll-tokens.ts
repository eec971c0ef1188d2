// `flotilla token …`: enrollment tokens for agents (SPEC S2). `create` prints the
// token once with the ready-to-run agent commands; API tokens are `flotilla api-token`.
import { InvalidArgumentError, type Command } from 'commander';
import { z } from 'zod';
import { duration } from '../../config.ts';
import { apiPath } from '../client/api-client.ts';
import { emit, printJson, print, renderTable } from '../client/output.ts';
import { createdEnrollTokenSchema, enrollTokenInfoSchema, type CreatedEnrollToken } from '../../api/routes/agents.ts';
import { clientCommand, commandGroup, connect, intInRange, type ClientFlags } from './common.ts';

const MIN_TTL_S = 60;
const MAX_TTL_S = 30 * 86_400;

interface CreateFlags extends ClientFlags {
  uses?: number;
  ttl?: number;
  fleet?: boolean;
  label?: string;
  quiet?: boolean;
}

export function registerEnrollTokenCommands(program: Command): void {
  const token = commandGroup(program, 'token', 'enrollment tokens: how agents join the fleet');

  clientCommand(token, 'create', 'create an enrollment token; prints it once, with the commands that start an agent')
    .option('--fleet', 'a fleet token: many hosts enroll with it (a Swarm global service); default: single use')
    .option('--uses <n>', 'uses of a fleet token (1–100000, default 100)', intInRange(1, 100_000))
    .option('--ttl <duration>', 'valid for this long: 30m, 1h, 720h (1m–720h, default 1h)', parseTtl)
    .option('--label <text>', 'a note shown in `flotilla token ls` (up to 100 characters)', parseLabel)
    .option('-q, --quiet', 'print only the token')
    .action(async (flags: CreateFlags, cmd: Command) => {
      if (flags.uses !== undefined && flags.uses !== 1 && !flags.fleet) {
        cmd.error(`error: option '--uses ${flags.uses}' needs --fleet: a single-use token has exactly 1 use`, { exitCode: 2, code: 'flotilla.usage' });
      }
      const body = { kind: flags.fleet ? 'fleet' : 'single', uses: flags.uses, ttlSeconds: flags.ttl, label: flags.label };
      const created = await (await connect(flags)).request('POST', '/enroll-tokens', { body, schema: createdEnrollTokenSchema });
      if (flags.json) printJson(created);
      else if (flags.quiet) print(created.token);
      else print(describeCreated(created));
    });

  clientCommand(token, 'ls', 'list enrollment tokens (never the secrets)').action(async (flags: ClientFlags) => {
    const tokens = await (await connect(flags)).request('GET', '/enroll-tokens', { schema: z.array(enrollTokenInfoSchema) });
    const now = new Date().toISOString();
    emit(flags.json, tokens, () => renderTable(
      ['ID', 'KIND', 'USES LEFT', 'EXPIRES', 'LABEL', 'CREATED BY'],
      tokens.map((t) => [t.id, t.kind, `${t.uses_left}/${t.uses_total}`, t.expires_at <= now ? `${t.expires_at} (expired)` : t.expires_at, t.label, t.created_by]),
    ));
  });

  clientCommand(token, 'rm', 'delete an enrollment token (it can no longer enroll)').argument('<id>').action(async (id: string, flags: ClientFlags) => {
    await (await connect(flags)).request('DELETE', apiPath`/enroll-tokens/${id}`);
    emit(flags.json, { removed: id }, () => `deleted enrollment token ${id}`);
  });
}

function describeCreated(c: CreatedEnrollToken): string {
  const uses = c.info.kind === 'fleet' ? `fleet token, ${c.info.uses_total} uses` : 'single use';
  const where = c.info.kind === 'fleet'
    ? 'Run once on a Swarm manager; every node starts an agent that enrolls itself:'
    : 'Run on the new host (replace <name> with its name in Flotilla):';
  return [
    `Enrollment token (${uses}, expires ${c.info.expires_at}). It is shown only now:`,
    '',
    `  ${c.token}`,
    '',
    where,
    '',
    `  ${c.commands.docker}`,
    '',
    'Or without Docker, with the flotilla command on the host:',
    '',
    `  ${c.commands.agent}`,
    '',
    `The agent dials ${c.serverAddr}; set FLOTILLA_CLUSTER_ADVERTISE on the server if agents reach it by another address.`,
  ].join('\n');
}

/** "1h", "30m", "3600" (seconds) → whole seconds within what the server accepts. */
function parseTtl(value: string): number {
  const parsed = duration.safeParse(value.trim());
  if (!parsed.success) throw new InvalidArgumentError('expected a duration such as 30m, 1h or 720h');
  const seconds = Math.round(parsed.data / 1000);
  if (seconds < MIN_TTL_S) throw new InvalidArgumentError('must be at least 1m');
  if (seconds > MAX_TTL_S) throw new InvalidArgumentError('must be at most 720h (30 days)');
  return seconds;
}

function parseLabel(value: string): string {
  if (value.length === 0 || value.length > 100) throw new InvalidArgumentError('must be 1–100 characters');
  return value;
}
