// Real registries for the registry-client tests: docker-registry processes on
// 127.0.0.1 (plain, htpasswd Basic auth, or token auth with a token server run
// here), content pushed straight over the Registry HTTP API, and small
// node:http servers standing in for a registry where a real one cannot misbehave.
import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { ECDSA_SHA256, generateP256KeyPair, privateKeyToPem, randomSerial, x509 } from '../../src/cluster/pki/x509.ts';

// ---- bcrypt ($2b$), for the htpasswd file docker-registry reads ----------------
// No bcrypt package is installed, so it is written out here. Blowfish's initial
// state is the hex expansion of pi (P-array then S-boxes), computed, not pasted.

function piFractionWords(count: number): Uint32Array {
  const digits = count * 8;
  const one = 1n << BigInt(4 * (digits + 16));
  const arctanInverse = (x: bigint): bigint => {
    let sum = 0n;
    let term = one / x;
    for (let k = 0n; term !== 0n; k++, term /= x * x) sum += (k % 2n === 0n ? term : -term) / (2n * k + 1n);
    return sum;
  };
  const pi = 16n * arctanInverse(5n) - 4n * arctanInverse(239n); // Machin
  const hex = ((pi - 3n * one) >> 64n).toString(16).padStart(digits, '0');
  return Uint32Array.from({ length: count }, (_, i) => parseInt(hex.slice(i * 8, i * 8 + 8), 16));
}

let blowfishInit: Uint32Array | undefined;

export function bcryptHash(password: string, cost = 4, salt = crypto.randomBytes(16)): string {
  blowfishInit ??= piFractionWords(18 + 4 * 256);
  const state = blowfishInit.slice();
  const P = state.subarray(0, 18);
  const S = [0, 1, 2, 3].map((i) => state.subarray(18 + 256 * i, 18 + 256 * (i + 1)));
  const f = (x: number): number => ((((S[0][x >>> 24] + S[1][(x >>> 16) & 255]) ^ S[2][(x >>> 8) & 255]) + S[3][x & 255]) >>> 0);
  const encipher = (l: number, r: number): [number, number] => {
    for (let i = 0; i < 16; i++) [l, r] = [(r ^ f((l ^ P[i]) >>> 0)) >>> 0, (l ^ P[i]) >>> 0];
    return [(r ^ P[17]) >>> 0, (l ^ P[16]) >>> 0];
  };
  const stream = (data: Buffer) => {
    let pos = 0;
    return (): number => {
      let w = 0;
      for (let i = 0; i < 4; i++, pos = (pos + 1) % data.length) w = ((w << 8) | data[pos]) >>> 0;
      return w;
    };
  };
  const expand = (key: Buffer, saltData: Buffer | undefined): void => {
    const k = stream(key);
    for (let i = 0; i < 18; i++) P[i] = (P[i] ^ k()) >>> 0;
    const s = saltData ? stream(saltData) : () => 0;
    let l = 0;
    let r = 0;
    for (let i = 0; i < state.length; i += 2) {
      [l, r] = encipher((l ^ s()) >>> 0, (r ^ s()) >>> 0);
      state[i] = l;
      state[i + 1] = r;
    }
  };
  const key = Buffer.concat([Buffer.from(password, 'utf8'), Buffer.from([0])]).subarray(0, 72);
  expand(key, salt);
  for (let i = 0; i < 2 ** cost; i++) {
    expand(key, undefined);
    expand(salt, undefined);
  }
  const text = Buffer.from('OrpheanBeholderScryDoubt');
  const words = [0, 1, 2, 3, 4, 5].map((i) => text.readUInt32BE(i * 4));
  for (let n = 0; n < 64; n++) for (let j = 0; j < 6; j += 2) [words[j], words[j + 1]] = encipher(words[j], words[j + 1]);
  const out = Buffer.alloc(24);
  words.forEach((w, i) => out.writeUInt32BE(w, i * 4));
  return `$2b$${String(cost).padStart(2, '0')}$${bcryptBase64(salt)}${bcryptBase64(out.subarray(0, 23))}`;
}

/** Same bit packing as base64, another alphabet, no padding. */
function bcryptBase64(data: Buffer): string {
  const std = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  const bcr = './ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  return data.toString('base64').replace(/=+$/, '').replace(/./g, (c) => bcr[std.indexOf(c)]);
}

// ---- docker-registry processes ------------------------------------------------

export interface User {
  username: string;
  password: string;
}

export type RegistryAuthConfig =
  | { kind: 'none' }
  | { kind: 'htpasswd'; users: User[] }
  | { kind: 'token'; tokens: TokenServer };

export interface TestRegistry {
  /** 127.0.0.1:<port> */
  host: string;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  const srv = http.createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address() as AddressInfo;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

/** `tls`: HTTPS with a self-signed certificate for 127.0.0.1 (no client trusts it). */
export async function startRegistry(auth: RegistryAuthConfig = { kind: 'none' }, opts: { tls?: boolean } = {}): Promise<TestRegistry> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flotilla-registry-'));
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  const tls = opts.tls ? await selfSignedTls(dir) : '';
  const lines = [
    'version: 0.1',
    'log: {level: warn}',
    `storage: {filesystem: {rootdirectory: ${path.join(dir, 'data')}}, delete: {enabled: true}}`,
    `http: {addr: "${host}", secret: ${crypto.randomBytes(16).toString('hex')}${tls}}`,
  ];
  if (auth.kind === 'htpasswd') {
    fs.writeFileSync(path.join(dir, 'htpasswd'), auth.users.map((u) => `${u.username}:${bcryptHash(u.password)}\n`).join(''));
    lines.push(`auth: {htpasswd: {realm: flotilla-test, path: ${path.join(dir, 'htpasswd')}}}`);
  } else if (auth.kind === 'token') {
    fs.writeFileSync(path.join(dir, 'root.pem'), auth.tokens.certPem);
    lines.push(`auth: {token: {realm: "${auth.tokens.realm}", service: ${auth.tokens.service}, issuer: ${auth.tokens.issuer}, rootcertbundle: ${path.join(dir, 'root.pem')}}}`);
  }
  fs.writeFileSync(path.join(dir, 'config.yml'), lines.join('\n') + '\n');
  const log = fs.openSync(path.join(dir, 'registry.log'), 'a');
  const child = spawn('/usr/bin/docker-registry', ['serve', path.join(dir, 'config.yml')], { stdio: ['ignore', log, log] });
  fs.closeSync(log);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    await stopChild(child, exited);
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitUntilAnswers(host, child, path.join(dir, 'registry.log'));
  } catch (error) {
    await stop();
    throw error;
  }
  return { host, stop };
}

async function selfSignedTls(dir: string): Promise<string> {
  const keys = await generateP256KeyPair();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(), name: 'CN=127.0.0.1', keys, signingAlgorithm: ECDSA_SHA256,
    notBefore: new Date(Date.now() - 3600_000), notAfter: new Date(Date.now() + 86_400_000),
    extensions: [new x509.SubjectAlternativeNameExtension([{ type: 'ip', value: '127.0.0.1' }])],
  });
  fs.writeFileSync(path.join(dir, 'tls.crt'), cert.toString('pem') + '\n');
  fs.writeFileSync(path.join(dir, 'tls.key'), privateKeyToPem(keys.privateKey), { mode: 0o600 });
  return `, tls: {certificate: ${path.join(dir, 'tls.crt')}, key: ${path.join(dir, 'tls.key')}}`;
}

async function stopChild(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(killer);
}

async function waitUntilAnswers(host: string, child: ChildProcess, logFile: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`docker-registry on ${host} exited: ${fs.readFileSync(logFile, 'utf8').slice(-2000)}`);
    // Any HTTP answer, or TLS refusing our (untrusting) handshake, means it listens.
    const status = await fetch(`http://${host}/v2/`).then((r) => r.status, (e: Error) => (/ECONNREFUSED/.test(String(e.cause)) ? 0 : 1));
    if (status !== 0) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`docker-registry on ${host} did not answer within 15 s`);
}

// ---- token server (Docker's token auth: JWT signed with a key whose cert the registry trusts) ----

export interface TokenServer {
  realm: string;
  service: string;
  issuer: string;
  certPem: string;
  /** GET /token requests received (any outcome). */
  hits: number;
  /** Every token handed out over HTTP (to check none leaks into messages or logs). */
  issued: string[];
  /** A token for these grants, as the token service would issue it. */
  mint(access: Array<{ name: string; actions: string[] }>, seconds?: number): Promise<string>;
  close(): Promise<void>;
}

export async function startTokenServer(opts: { users: User[]; field?: 'token' | 'access_token'; expiresIn?: number }): Promise<TokenServer> {
  const keys = await generateP256KeyPair();
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(), name: 'CN=flotilla test token issuer', keys, signingAlgorithm: ECDSA_SHA256,
    notBefore: new Date(now - 3600_000), notAfter: new Date(now + 86_400_000),
    extensions: [new x509.BasicConstraintsExtension(true, undefined, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyCertSign, true)],
  });
  const x5c = Buffer.from(cert.rawData).toString('base64');
  const privateKey = crypto.KeyObject.from(keys.privateKey);
  const service = 'flotilla-test-registry';
  const issuer = 'flotilla-test-issuer';
  const b64 = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');
  const mint = async (access: Array<{ name: string; actions: string[] }>, seconds = opts.expiresIn ?? 300): Promise<string> => {
    const iat = Math.floor(Date.now() / 1000);
    const claims = { iss: issuer, sub: 'test', aud: service, iat, nbf: iat - 10, exp: iat + seconds, jti: crypto.randomUUID(), access: access.map((a) => ({ type: 'repository', ...a })) };
    const input = `${b64({ typ: 'JWT', alg: 'ES256', x5c: [x5c] })}.${b64(claims)}`;
    const signature = crypto.sign('sha256', Buffer.from(input), { key: privateKey, dsaEncoding: 'ieee-p1363' });
    return `${input}.${signature.toString('base64url')}`;
  };
  const server = http.createServer((req, res) => {
    void (async () => {
      srv.hits++;
      const url = new URL(req.url ?? '/', 'http://x');
      const [scheme, encoded] = (req.headers.authorization ?? '').split(' ');
      const [username, ...rest] = scheme === 'Basic' ? Buffer.from(encoded ?? '', 'base64').toString('utf8').split(':') : [];
      const user = opts.users.find((u) => u.username === username && u.password === rest.join(':'));
      if (!user || url.searchParams.get('service') !== service) {
        res.writeHead(401, { 'content-type': 'application/json' }).end('{"details":"incorrect username or password"}');
        return;
      }
      const access = url.searchParams.getAll('scope').map((s) => s.split(':')).filter((p) => p[0] === 'repository').map((p) => ({ name: p[1], actions: p[2].split(',') }));
      const token = await mint(access);
      srv.issued.push(token);
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ [opts.field ?? 'token']: token, expires_in: opts.expiresIn ?? 300 }));
    })().catch((error: unknown) => res.writeHead(500).end(String(error)));
  });
  const port = await listen(server);
  const srv: TokenServer = {
    realm: `http://127.0.0.1:${port}/token`, service, issuer, certPem: cert.toString('pem') + '\n', hits: 0, issued: [], mint,
    close: () => closeServer(server),
  };
  return srv;
}

// ---- pushing content over the Registry HTTP API -----------------------------------

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';

export interface Pushed {
  digest: string;
  mediaType: string;
}

/** Pushes blobs and manifests to `host` (plain HTTP); `authorization` gives the header for a repository's push. */
export class Pusher {
  private readonly base: string;
  private readonly authorization: (repo: string) => Promise<string | undefined>;

  constructor(host: string, authorization: (repo: string) => Promise<string | undefined> = async () => undefined) {
    this.base = `http://${host}`;
    this.authorization = authorization;
  }

  /** A new single-platform image at repo:tag (fresh content each call, so a new digest). */
  async pushImage(repo: string, tag: string, platform = { os: 'linux', architecture: 'amd64' }): Promise<Pushed> {
    const manifest = await this.imageManifest(repo, platform);
    return this.putManifest(repo, tag, OCI_MANIFEST, manifest);
  }

  /** An OCI image index at repo:tag over one new manifest per platform; the platform digests too. */
  async pushIndex(repo: string, tag: string, platforms: Array<{ os: string; architecture: string; variant?: string }>): Promise<Pushed & { platforms: Array<Pushed & { platform: { os: string; architecture: string; variant?: string } }> }> {
    const children = [];
    for (const platform of platforms) {
      const body = await this.imageManifest(repo, platform);
      const pushed = await this.putManifest(repo, sha256(body), OCI_MANIFEST, body);
      children.push({ ...pushed, platform, size: body.length });
    }
    const index = Buffer.from(JSON.stringify({
      schemaVersion: 2, mediaType: OCI_INDEX,
      manifests: children.map((c) => ({ mediaType: OCI_MANIFEST, digest: c.digest, size: c.size, platform: c.platform })),
    }));
    const pushed = await this.putManifest(repo, tag, OCI_INDEX, index);
    return { ...pushed, platforms: children.map(({ digest, mediaType, platform }) => ({ digest, mediaType, platform })) };
  }

  private async imageManifest(repo: string, platform: { os: string; architecture: string; variant?: string }): Promise<Buffer> {
    const layer = crypto.randomBytes(256); // the registry never looks inside a layer
    const config = Buffer.from(JSON.stringify({ ...platform, created: new Date().toISOString(), rootfs: { type: 'layers', diff_ids: [sha256(layer)] }, config: {} }));
    await this.putBlob(repo, layer);
    await this.putBlob(repo, config);
    return Buffer.from(JSON.stringify({
      schemaVersion: 2, mediaType: OCI_MANIFEST,
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha256(layer), size: layer.length }],
    }));
  }

  private async headers(repo: string, extra: Record<string, string> = {}): Promise<Record<string, string>> {
    const auth = await this.authorization(repo);
    return auth ? { ...extra, authorization: auth } : extra;
  }

  private async putBlob(repo: string, data: Buffer): Promise<void> {
    const start = await fetch(`${this.base}/v2/${repo}/blobs/uploads/`, { method: 'POST', headers: await this.headers(repo) });
    if (start.status !== 202) throw new Error(`blob upload to ${repo} refused: ${start.status} ${await start.text()}`);
    const location = new URL(start.headers.get('location')!, this.base);
    location.searchParams.set('digest', sha256(data));
    const put = await fetch(location, { method: 'PUT', body: data, headers: await this.headers(repo, { 'content-type': 'application/octet-stream' }) });
    if (put.status !== 201) throw new Error(`blob upload to ${repo} failed: ${put.status} ${await put.text()}`);
  }

  private async putManifest(repo: string, reference: string, mediaType: string, body: Buffer): Promise<Pushed> {
    const res = await fetch(`${this.base}/v2/${repo}/manifests/${reference}`, { method: 'PUT', body, headers: await this.headers(repo, { 'content-type': mediaType }) });
    if (res.status !== 201) throw new Error(`manifest ${repo}:${reference} refused: ${res.status} ${await res.text()}`);
    const digest = res.headers.get('docker-content-digest');
    if (digest !== sha256(body)) throw new Error(`registry says ${digest} for a manifest whose digest is ${sha256(body)}`);
    return { digest, mediaType };
  }
}

export function sha256(data: Buffer): string {
  return `sha256:${crypto.createHash('sha256').update(data).digest('hex')}`;
}

// ---- node:http helpers ----------------------------------------------------------

export async function listen(server: http.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

export function closeServer(server: http.Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

/** Forwards a request to `upstream` (host:port, plain HTTP) and copies the answer back. */
export async function forward(req: http.IncomingMessage, res: http.ServerResponse, upstream: string): Promise<void> {
  const headers = Object.fromEntries(Object.entries(req.headers).filter(([k]) => k !== 'host' && k !== 'connection').map(([k, v]) => [k, String(v)]));
  const answer = await fetch(`http://${upstream}${req.url}`, { method: req.method, headers });
  const body = Buffer.from(await answer.arrayBuffer());
  const out: Record<string, string> = {};
  answer.headers.forEach((v, k) => {
    if (k !== 'content-encoding' && k !== 'transfer-encoding' && k !== 'connection' && k !== 'keep-alive') out[k] = v;
  });
  res.writeHead(answer.status, out).end(req.method === 'HEAD' ? undefined : body);
}
