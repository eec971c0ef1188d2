// deploy/: what can be checked without building the user images (there is no
// registry hub here): the Dockerfiles read like a linter would, every file
// they copy or run exists and passes their .dockerignore, the Compose files
// pass docker-compose's own `config`, the stack file loads in Flotilla's stack
// loader, and deploy/*.ts typechecks with the project's settings.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { parseDockerfile, readFinalStage, type DockerfileStage } from '../lab/agent-image.ts';
import { loadCompose } from '../../src/stacks/compose/index.ts';

const exec = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '../..');
const DEPLOY = path.join(ROOT, 'deploy');
const VERSION = (JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const read = (f: string) => fs.readFileSync(path.join(DEPLOY, f), 'utf8');

/** The .dockerignore rules the way BuildKit applies them to these simple allowlists: last match wins. */
function ignored(rules: string[], file: string): boolean {
  let out = false;
  for (const rule of rules) {
    const negate = rule.startsWith('!');
    const pattern = (negate ? rule.slice(1) : rule).replace(/\/$/, '');
    const re = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*')}(/.*)?$`);
    if (re.test(file)) out = !negate;
  }
  return out;
}

function dockerignore(dockerfile: string): string[] {
  return read(`${dockerfile}.dockerignore`).split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
}

function instructions(stage: DockerfileStage, keyword: string): string[] {
  return stage.instructions.filter((i) => i.keyword === keyword).map((i) => i.args);
}

for (const [file, title] of [['agent.Dockerfile', 'Flotilla agent'], ['server.Dockerfile', 'Flotilla server']] as const) {
  test(`${file}: official node:24-bookworm-slim stages, production packages, labels, healthcheck, and every copied file present and not ignored`, () => {
    const text = read(file);
    const { globalArgs, stages } = parseDockerfile(text);
    assert.deepEqual(globalArgs.map((a) => a.args), ['NODE_IMAGE=node:24-bookworm-slim']);
    for (const s of stages) assert.equal(s.from, '${NODE_IMAGE}', `every stage starts from the official image: ${s.from}`);
    assert.ok(!/\bADD\b|:latest|apt-get install(?!.*--no-install-recommends)/.test(text.replace(/^#.*$/gm, '')), 'no ADD, no :latest, apt without recommends');
    const deps = stages.find((s) => s.name === 'deps')!;
    assert.match(instructions(deps, 'RUN').join(' '), /npm ci --omit=dev --ignore-scripts/);

    const final = stages.at(-1)!;
    const stage = readFinalStage(text, { FLOTILLA_VERSION: '1.2.3' });
    const labels = stage.changes.filter((c) => c.startsWith('LABEL ')).join(' ');
    for (const key of ['title', 'description', 'version', 'revision', 'created', 'licenses', 'vendor', 'base.name']) {
      assert.match(labels, new RegExp(`org\\.opencontainers\\.image\\.${key.replace('.', '\\.')}=`), key);
    }
    assert.match(labels, new RegExp(`org\\.opencontainers\\.image\\.title="${title}"`));
    assert.match(labels, /org\.opencontainers\.image\.version="1\.2\.3"/);
    assert.match(stage.changes.find((c) => c.startsWith('ENV '))!, /FLOTILLA_VERSION="1\.2\.3"/, 'the build stamps its version (src/version.ts)');
    assert.equal(instructions(final, 'HEALTHCHECK').length, 1);
    const entry = JSON.parse(instructions(final, 'ENTRYPOINT')[0]!) as string[];
    assert.equal(entry[0], '/usr/local/bin/node');
    // Scripts the image runs exist in the repository (the app is /app = the repository root).
    for (const arg of [...entry, ...(JSON.parse(/CMD (\[.*\])$/.exec(instructions(final, 'HEALTHCHECK')[0]!)![1]!) as string[])]) {
      if (arg.startsWith('/app/')) assert.ok(fs.existsSync(path.join(ROOT, arg.slice(5))), arg);
    }
    // Every COPY source from the build context exists and is let through by the Dockerfile's .dockerignore.
    const rules = dockerignore(file);
    for (const s of stages) {
      for (const copy of instructions(s, 'COPY').filter((c) => !c.startsWith('--from='))) {
        for (const src of copy.split(/\s+/).slice(0, -1)) {
          assert.ok(fs.existsSync(path.join(ROOT, src)), `${file}: COPY ${src} does not exist`);
          const probe = fs.statSync(path.join(ROOT, src)).isDirectory() ? `${src.replace(/\/$/, '')}/probe.ts` : src;
          assert.equal(ignored(rules, probe), false, `${file}: ${src} is excluded by ${file}.dockerignore`);
        }
      }
    }
    for (const heavy of ['node_modules/x', '.flotilla/x', '.git/x', 'web/dist/index.html']) assert.equal(ignored(rules, heavy), true, heavy);
  });
}

test('agent.Dockerfile: labelled flotilla.self, drops better-sqlite3\'s binaries, starts as root only to hand over to uid 1000; server.Dockerfile runs as node with the native binding checked', () => {
  const agent = parseDockerfile(read('agent.Dockerfile')).stages;
  const agentFinal = readFinalStage(read('agent.Dockerfile'), {});
  assert.match(agentFinal.changes.join('\n'), /flotilla\.self="true"/);
  assert.deepEqual(agentFinal.depsRemoved.filter((p) => p.startsWith('node_modules/better-sqlite3/')).sort(),
    ['build', 'deps', 'prebuilds', 'src'].map((d) => `node_modules/better-sqlite3/${d}`));
  assert.equal(instructions(agent.at(-1)!, 'USER').length, 0, 'the entry point drops root itself (it must read the socket first)');
  assert.match(agentFinal.changes.join('\n'), /FLOTILLA_CLUSTER_DIR=\/data\/cluster/);
  const server = parseDockerfile(read('server.Dockerfile')).stages;
  assert.deepEqual(instructions(server.at(-1)!, 'USER'), ['node']);
  assert.deepEqual(instructions(server.at(-1)!, 'EXPOSE'), ['8080 9443 2376']);
  assert.match(instructions(server.find((s) => s.name === 'deps')!, 'RUN').join(' '), /require\('better-sqlite3'\)/);
  assert.ok(server.some((s) => instructions(s, 'RUN').join(' ').includes('vite.js build web')), 'the dashboard is built in the image');
});

const composeEnv = {
  FLOTILLA_CLUSTER_ADVERTISE: '10.0.0.10', FLOTILLA_SERVER_ADDR: '10.0.0.10:9443', FLOTILLA_HOST_NAME: 'web1', FLOTILLA_ENROLL_TOKEN: 'FLT1-x-y',
};

async function composeConfig(file: string, env: Record<string, string>): Promise<string> {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('FLOTILLA_')));
  return (await exec('docker-compose', ['-f', path.join(DEPLOY, file), 'config'], { env: { ...clean, ...env } })).stdout;
}

const haveCompose = await exec('docker-compose', ['version']).then(() => true, () => false);

test('compose.server.yaml and compose.agent.yaml pass docker-compose config; a missing required address is named', { skip: !haveCompose && 'docker-compose is not installed' }, async () => {
  const server = await composeConfig('compose.server.yaml', composeEnv);
  assert.match(server, new RegExp(`image: flotilla/server:${VERSION.replace(/\./g, '\\.')}`), 'the default tag is package.json\'s version');
  assert.match(server, /127\.0\.0\.1:8080:8080/);
  assert.match(server, /published: 9443/);
  assert.match(server, /published: 2376/);
  assert.match(server, /flotilla-data:\/data/);
  const agent = await composeConfig('compose.agent.yaml', composeEnv);
  assert.match(agent, new RegExp(`image: flotilla/agent:${VERSION.replace(/\./g, '\\.')}`));
  assert.match(agent, /\/var\/run\/docker\.sock:\/var\/run\/docker\.sock/);
  assert.match(agent, /flotilla-agent:\/data\/cluster/);
  assert.match(agent, /flotilla\.self: "true"/);
  await assert.rejects(composeConfig('compose.server.yaml', {}), /FLOTILLA_CLUSTER_ADVERTISE/);
  await assert.rejects(composeConfig('compose.agent.yaml', { FLOTILLA_HOST_NAME: 'x' }), /FLOTILLA_SERVER_ADDR/);
});

test('stack.agent.yaml loads as a Swarm global service with the socket, a per-node identity volume and the self label', () => {
  const { project } = loadCompose({ compose: read('stack.agent.yaml'), env: { FLOTILLA_SERVER_ADDR: '10.0.0.10:9443', FLOTILLA_ENROLL_TOKEN: 'FLT1-x-y' } });
  const agent = project.services?.agent as Record<string, any>;
  assert.equal(agent.image, `flotilla/agent:${VERSION}`);
  assert.equal(agent.deploy.mode, 'global');
  assert.equal(agent.environment.FLOTILLA_HOST_NAME, '{{.Node.Hostname}}');
  assert.equal(agent.labels['flotilla.self'], 'true');
  assert.deepEqual(agent.volumes.map((v: { target: string }) => v.target).sort(), ['/data/cluster', '/var/run/docker.sock']);
  assert.throws(() => loadCompose({ compose: read('stack.agent.yaml'), env: {} }), /FLOTILLA_SERVER_ADDR/);
});

test('deploy/*.ts typechecks with the project\'s compiler settings', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flotilla-deploy-tsc-'));
  try {
    fs.writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({
      extends: path.join(ROOT, 'tsconfig.json'), compilerOptions: { typeRoots: [path.join(ROOT, 'node_modules/@types')] }, include: [path.join(DEPLOY, '*.ts')],
    }));
    const res = await exec(process.execPath, [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', path.join(dir, 'tsconfig.json')], { timeout: 180_000 })
      .catch((e: { stdout: string; code: number }) => e);
    assert.equal((res as { code?: number }).code ?? 0, 0, (res as { stdout: string }).stdout);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
