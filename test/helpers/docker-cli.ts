// The real docker CLI (28.x) pointed at a Flotilla fleet endpoint: a config
// directory with the bearer token (and optional target header), and the CA.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface DockerCli {
  dir: string;
  /** Debian's docker-compose 1.29 (Python, docker-py) with the same CA and headers. */
  compose(args: string[], opts?: { target?: string; timeoutMs?: number }): Promise<{ code: number | null; stdout: string; stderr: string }>;
  run(args: string[], opts?: { target?: string; basePath?: string; input?: string; timeoutMs?: number }): Promise<{ code: number | null; stdout: string; stderr: string }>;
}

export function dockerCli(opts: { port: number; caPem: string; token: string }): DockerCli {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'docker-cli-'));
  fs.writeFileSync(path.join(dir, 'ca.pem'), opts.caPem);
  const configFor = (target?: string) => {
    const d = path.join(dir, target ? `cfg-${target}` : 'cfg');
    fs.mkdirSync(d, { recursive: true });
    const headers: Record<string, string> = { Authorization: `Bearer ${opts.token}` };
    if (target) headers['X-Flotilla-Target'] = target;
    fs.writeFileSync(path.join(d, 'config.json'), JSON.stringify({ HttpHeaders: headers }));
    return d;
  };
  const exec = (cmd: string, args: string[], env: Record<string, string>, o: { input?: string; timeoutMs?: number }) =>
    new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
        const child = spawn(cmd, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
        child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        const timer = setTimeout(() => child.kill('SIGKILL'), o.timeoutMs ?? 60_000);
        child.on('close', (code) => {
          clearTimeout(timer);
          resolve({ code, stdout, stderr });
        });
        child.stdin.end(o.input ?? '');
    });
  return {
    dir,
    run(args, o = {}) {
      const env = {
        PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir,
        DOCKER_HOST: `tcp://127.0.0.1:${opts.port}${o.basePath ?? ''}`, DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: dir,
        DOCKER_CONFIG: configFor(o.target),
      };
      return exec('/usr/local/bin/docker', args, env, o);
    },
    compose(args, o = {}) {
      // A clean environment: requests (inside docker-py) prefers REQUESTS_CA_BUNDLE over the CA it is given.
      const env = { PATH: '/usr/bin:/bin', HOME: dir, DOCKER_CONFIG: configFor(o.target) };
      const tls = ['--tlsverify', '--tlscacert', path.join(dir, 'ca.pem'), '-H', `tcp://127.0.0.1:${opts.port}`];
      return exec('docker-compose', [...tls, ...args], env, o);
    },
  };
}
