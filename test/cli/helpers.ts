// Shared by the CLI tests: a real Flotilla server started in-process on a
// temporary data directory, and the `flotilla` command run as a subprocess
// with its own config file.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../src/config.ts';
import { startServer, type ServerHandle } from '../../src/server.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const BIN = path.join(root, 'bin', 'flotilla');
export const ADMIN_PASSWORD = 'admin-password-1';

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface TestServer {
  server: ServerHandle;
  url: string;
  /** Temporary directory holding the server's data and the CLI config. */
  dir: string;
  /** The CLI config file every `cli()` call of this server uses. */
  configFile: string;
  cli(args: string[], options?: CliOptions): Promise<CliResult>;
  close(): Promise<void>;
}

export interface CliOptions {
  input?: string;
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
}

/** A fresh server; `admin: true` also runs `flotilla setup` so the CLI is signed in as admin. */
export async function startTestServer(options: { admin?: boolean } = {}): Promise<TestServer> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flotilla-cli-test-'));
  const server = await startServer(loadConfig({ FLOTILLA_DATA_DIR: path.join(dir, 'data'), FLOTILLA_PORT: '0', FLOTILLA_AGENT_PORT: '0', FLOTILLA_DOCKER_PORT: '0', FLOTILLA_LOG_LEVEL: 'silent' }));
  const configFile = path.join(dir, 'cli', 'cli.json');
  const ts: TestServer = {
    server, url: server.url, dir, configFile,
    cli: (args, opts = {}) => runCli(args, { ...opts, env: { FLOTILLA_CLI_CONFIG: configFile, ...opts.env } }),
    async close() {
      await server.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  if (options.admin) {
    const r = await ts.cli(['setup', '--url', server.url, '--username', 'admin', '--code', server.setupCode!, '--password-stdin'], { input: ADMIN_PASSWORD });
    if (r.code !== 0) throw new Error(`setup failed (${r.code}): ${r.stderr}`);
  }
  return ts;
}

/** Runs bin/flotilla without any FLOTILLA_* variables of the caller's environment. */
export function runCli(args: string[], options: CliOptions = {}): Promise<CliResult> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('FLOTILLA_')));
  const child = spawn(BIN, args, { env: { ...env, ...options.env }, stdio: ['pipe', 'pipe', 'pipe'] });
  return collect(child, options);
}

export function collect(child: ReturnType<typeof spawn>, options: CliOptions = {}): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  child.stdin!.end(options.input ?? '');
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** Parses a command's stdout as JSON, with the output in the message when it is not. */
export function parseJson<T = unknown>(r: CliResult): T {
  try {
    return JSON.parse(r.stdout) as T;
  } catch {
    throw new Error(`stdout is not JSON (exit ${r.code}):\n${r.stdout}\nstderr:\n${r.stderr}`);
  }
}

/** Asserts a zero exit code, showing stderr when it is not. */
export function ok(r: CliResult): CliResult {
  if (r.code !== 0) throw new Error(`exit ${r.code} (signal ${r.signal}):\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r;
}

export function uniqueName(prefix: string): string {
  return `flt-cli-${prefix}-${randomBytes(4).toString('hex')}`;
}

export { waitFor } from '../helpers/wait.ts';
