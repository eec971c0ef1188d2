// `flotilla container logs|exec|stats`: what a container prints, running a
// command in it, and one resource-usage sample.
import type { Command } from 'commander';
import { z } from 'zod';
import { apiPath } from '../client/api-client.ts';
import { emit, formatBytes, list, num, obj, renderFields } from '../client/output.ts';
import { abortOnInterrupt } from '../client/progress.ts';
import { clientCommand, collectKeyValue, connect, intInRange, type ClientFlags } from './common.ts';

const logLineSchema = z.object({ stream: z.enum(['stdout', 'stderr']), line: z.string(), timestamp: z.string().optional() });
type LogLine = z.infer<typeof logLineSchema>;
const execResultSchema = z.object({ exitCode: z.number(), stdout: z.string(), stderr: z.string() });

interface LogsFlags extends ClientFlags {
  tail: number;
  follow?: boolean;
  timestamps?: boolean;
}

interface ExecFlags extends ClientFlags {
  env?: string[];
  workdir?: string;
  user?: string;
  timeout: number;
}

export function registerContainerIoCommands(container: Command): void {
  clientCommand(container, 'logs', 'print a container\'s logs (stderr lines go to stderr)')
    .argument('<host>').argument('<id>')
    .option('-n, --tail <lines>', 'last N lines (0–500)', intInRange(0, 500), 100)
    .option('-f, --follow', 'keep printing new lines until the container stops (Ctrl-C to stop)')
    .option('-t, --timestamps', 'show each line\'s timestamp')
    .action(async (host: string, id: string, flags: LogsFlags) => (flags.follow ? followLogs(host, id, flags) : printLogs(host, id, flags)));

  clientCommand(container, 'exec', 'run a command in a running container: exec HOST ID -- CMD ARGS…; exits with its exit code')
    .argument('<host>').argument('<id>').argument('<cmd...>', 'command and arguments, after --')
    .option('-e, --env <KEY=VALUE>', 'environment variable (repeatable)', collectKeyValue)
    .option('-w, --workdir <dir>', 'working directory inside the container')
    .option('-u, --user <user>', 'user to run as')
    .option('--timeout <seconds>', 'give up after this long (1–600)', intInRange(1, 600), 30)
    .action(execInContainer);

  clientCommand(container, 'stats', 'one resource-usage sample').argument('<host>').argument('<id>')
    .action(async (host: string, id: string, flags: ClientFlags) => {
      const s = await (await connect(flags)).request<Record<string, unknown>>('GET', apiPath`/hosts/${host}/containers/${id}/stats`);
      emit(flags.json, s, () => renderStats(s));
    });
}

function writeLogLine(l: LogLine): void {
  const text = (l.timestamp ? `${l.timestamp} ${l.line}` : l.line) + '\n';
  (l.stream === 'stderr' ? process.stderr : process.stdout).write(text);
}

async function printLogs(host: string, id: string, flags: LogsFlags): Promise<void> {
  const query = { tail: flags.tail, timestamps: Boolean(flags.timestamps) };
  const answer = await (await connect(flags)).request('GET', apiPath`/hosts/${host}/containers/${id}/logs`, { query, schema: z.object({ lines: z.array(logLineSchema) }) });
  if (flags.json) process.stdout.write(JSON.stringify(answer) + '\n');
  else answer.lines.forEach(writeLogLine);
}

/** Streams NDJSON lines as they come; Ctrl-C ends the request and exits 130 without an error message. */
async function followLogs(host: string, id: string, flags: LogsFlags): Promise<void> {
  const client = await connect(flags);
  const query = { tail: flags.tail, timestamps: Boolean(flags.timestamps), follow: true };
  const stop = abortOnInterrupt();
  try {
    const lines = client.stream<unknown>('GET', apiPath`/hosts/${host}/containers/${id}/logs`, { query, signal: stop.signal });
    for await (const item of lines) {
      const error = obj(item).error;
      if (typeof error === 'string') throw new Error(`logs of ${id} on ${host}: ${error}`);
      if (flags.json) process.stdout.write(JSON.stringify(item) + '\n');
      else writeLogLine(logLineSchema.parse(item));
    }
  } catch (err) {
    if (!stop.interrupted()) throw err;
    process.exitCode = 130;
  } finally {
    stop.dispose();
  }
}

async function execInContainer(host: string, id: string, cmd: string[], flags: ExecFlags): Promise<void> {
  const body = { cmd, env: flags.env, workingDir: flags.workdir, user: flags.user, timeoutSeconds: flags.timeout };
  const r = await (await connect(flags)).request('POST', apiPath`/hosts/${host}/containers/${id}/exec`, { body, schema: execResultSchema });
  if (flags.json) {
    process.stdout.write(JSON.stringify(r) + '\n');
  } else {
    process.stdout.write(r.stdout);
    process.stderr.write(r.stderr);
  }
  process.exitCode = r.exitCode;
}

function renderStats(s: Record<string, unknown>): string {
  const memory = obj(s.memory_stats);
  const usage = num(memory.usage);
  const limit = num(memory.limit);
  const cache = num(obj(memory.stats).inactive_file) ?? 0;
  const networks = Object.values(obj(s.networks)).map(obj);
  const rx = networks.reduce((sum, n) => sum + (num(n.rx_bytes) ?? 0), 0);
  const tx = networks.reduce((sum, n) => sum + (num(n.tx_bytes) ?? 0), 0);
  const io = list(obj(s.blkio_stats).io_service_bytes_recursive).map(obj);
  const ioSum = (op: string) => io.filter((e) => String(e.op).toLowerCase() === op).reduce((sum, e) => sum + (num(e.value) ?? 0), 0);
  const cpu = num(s.cpu_percent);
  return renderFields([
    ['Name', typeof s.name === 'string' ? s.name.replace(/^\//, '') : undefined],
    ['CPU', cpu === undefined ? undefined : `${cpu.toFixed(2)}%`],
    ['Memory', usage === undefined ? undefined : `${formatBytes(usage - cache)} / ${formatBytes(limit)}`],
    ['Network I/O', `${formatBytes(rx)} / ${formatBytes(tx)}`],
    ['Block I/O', `${formatBytes(ioSum('read'))} / ${formatBytes(ioSum('write'))}`],
    ['PIDs', num(obj(s.pids_stats).current)],
    ['Read at', typeof s.read === 'string' ? s.read : undefined],
  ]);
}
