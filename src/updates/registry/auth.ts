// Registry authentication: WWW-Authenticate challenges (Bearer, Basic), Basic
// credentials, and bearer tokens from the registry's token service (Docker's
// token spec), cached per registry and scope until they expire.
import { z } from 'zod';
import { RegistryError } from './errors.ts';

export type BearerChallenge = { scheme: 'bearer'; realm: string; service: string | undefined; scope: string | undefined };
export type BasicChallenge = { scheme: 'basic'; realm: string | undefined };
export type AuthChallenge = BearerChallenge | BasicChallenge;

export interface Credentials {
  username: string;
  password: string;
}

/**
 * The challenge we can answer from a WWW-Authenticate header (RFC 7235: one or
 * more `scheme k=v, k="v"` challenges). Bearer is preferred over Basic.
 */
export function parseWwwAuthenticate(header: string | string[] | undefined): AuthChallenge | undefined {
  const text = Array.isArray(header) ? header.join(', ') : header;
  if (!text) return undefined;
  const challenges = splitChallenges(text);
  const bearer = challenges.find((c) => c.scheme === 'bearer');
  if (bearer?.params.realm) {
    return { scheme: 'bearer', realm: bearer.params.realm, service: bearer.params.service, scope: bearer.params.scope };
  }
  const basic = challenges.find((c) => c.scheme === 'basic');
  return basic ? { scheme: 'basic', realm: basic.params.realm } : undefined;
}

type RawChallenge = { scheme: string; params: Record<string, string> };

function splitChallenges(text: string): RawChallenge[] {
  const out: RawChallenge[] = [];
  let i = 0;
  const skip = (re: RegExp): void => {
    while (i < text.length && re.test(text[i])) i++;
  };
  const token = (): string => {
    const start = i;
    while (i < text.length && /[!#$%&'*+.^_`|~0-9A-Za-z-]/.test(text[i])) i++;
    return text.slice(start, i);
  };
  while (i < text.length) {
    skip(/[\s,]/);
    const scheme = token();
    if (!scheme) {
      i++;
      continue;
    }
    const challenge: RawChallenge = { scheme: scheme.toLowerCase(), params: {} };
    out.push(challenge);
    for (;;) {
      skip(/[\s,]/);
      const save = i;
      const key = token();
      skip(/\s/);
      if (!key || text[i] !== '=') {
        i = save; // a new challenge's scheme (or the end)
        break;
      }
      i++;
      skip(/\s/);
      let value = '';
      if (text[i] === '"') {
        for (i++; i < text.length && text[i] !== '"'; i++) value += text[i] === '\\' ? text[++i] ?? '' : text[i];
        i++;
      } else {
        // RFC 7235 says token here; be lenient with servers that leave a URL unquoted.
        const start = i;
        while (i < text.length && !/[\s,]/.test(text[i])) i++;
        value = text.slice(start, i);
      }
      challenge.params[key.toLowerCase()] = value;
    }
  }
  return out;
}

export function basicAuthorization(credentials: Credentials): string {
  return `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`, 'utf8').toString('base64')}`;
}

/** `repository:<repo>:pull`, the one scope an update check needs. */
export function pullScope(repository: string): string {
  return `repository:${repository}:pull`;
}

const TokenAnswer = z.object({
  token: z.string().min(1).optional(),
  access_token: z.string().min(1).optional(),
  expires_in: z.number().positive().optional(),
}).refine((a) => a.token !== undefined || a.access_token !== undefined, { message: 'neither token nor access_token' });

/** The token spec's default lifetime when the service does not say. */
const DEFAULT_TOKEN_SECONDS = 60;

/** Sends GET <url> with the given Authorization (if any): status and body. Supplied by the client (counting, TLS, deadline). */
export type TokenFetch = (url: URL, authorization: string | undefined) => Promise<{ status: number; body: Buffer }>;

export interface TokenRequest {
  registry: string;
  repository: string;
  challenge: BearerChallenge;
  credentials: Credentials | undefined;
  /** The registry itself is plain HTTP (so a plain-HTTP token service is no downgrade). */
  insecure: boolean;
}

export class TokenCache {
  private readonly tokens = new Map<string, { token: string; expiresAt: number }>();
  private readonly pending = new Map<string, Promise<string>>();
  private readonly now: () => number;

  constructor(now: () => number = Date.now) {
    this.now = now;
  }

  /** A valid token for the request's scope: cached, joined to a fetch in flight, or fetched. */
  async token(req: TokenRequest, fetchToken: TokenFetch): Promise<string> {
    const key = cacheKey(req);
    const cached = this.tokens.get(key);
    if (cached && cached.expiresAt > this.now()) return cached.token;
    this.tokens.delete(key);
    let inFlight = this.pending.get(key);
    if (!inFlight) {
      inFlight = this.fetchToken(req, fetchToken).then(({ token, seconds }) => {
        // Renew a little early so a token never expires between our check and the registry's.
        this.tokens.set(key, { token, expiresAt: this.now() + seconds * 1000 - Math.min(10_000, seconds * 100) });
        return token;
      }).finally(() => this.pending.delete(key));
      this.pending.set(key, inFlight);
    }
    return inFlight;
  }

  /** The registry refused a cached token (revoked, clock skew): fetch a new one next time. */
  forget(req: TokenRequest): void {
    this.tokens.delete(cacheKey(req));
  }

  private async fetchToken(req: TokenRequest, fetchToken: TokenFetch): Promise<{ token: string; seconds: number }> {
    const { registry, repository, challenge, credentials } = req;
    let url: URL;
    try {
      url = new URL(challenge.realm);
    } catch {
      throw new RegistryError('bad_response', registry, `registry ${registry} names a token service that is not a URL (realm "${challenge.realm}")`);
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') {
      throw new RegistryError('bad_response', registry, `registry ${registry} names a token service that is not HTTP(S) (${url.protocol})`);
    }
    if (credentials && url.protocol === 'http:' && !req.insecure) {
      throw new RegistryError('bad_response', registry, `registry ${registry} sends credentials to a plain-HTTP token service (${url.host}); refusing (mark the registry insecure if that is intended)`);
    }
    if (challenge.service !== undefined) url.searchParams.set('service', challenge.service);
    url.searchParams.set('scope', pullScope(repository));
    const answer = await fetchToken(url, credentials ? basicAuthorization(credentials) : undefined);
    if (answer.status === 401 || answer.status === 403) {
      throw credentials
        ? new RegistryError('unauthorized', registry, `registry ${registry} refused the credentials for repository ${repository} (token service ${url.host} answered ${answer.status})`)
        : new RegistryError('unauthorized', registry, `registry ${registry} requires credentials for repository ${repository} (token service ${url.host} answered ${answer.status}); add a username and password for this registry`);
    }
    if (answer.status !== 200) {
      throw new RegistryError('bad_response', registry, `the token service of registry ${registry} (${url.host}) answered ${answer.status} for repository ${repository}`);
    }
    let parsed: z.infer<typeof TokenAnswer>;
    try {
      parsed = TokenAnswer.parse(JSON.parse(answer.body.toString('utf8')));
    } catch {
      throw new RegistryError('bad_response', registry, `the token service of registry ${registry} (${url.host}) answered with something that is not a token`);
    }
    return { token: (parsed.token ?? parsed.access_token)!, seconds: parsed.expires_in ?? DEFAULT_TOKEN_SECONDS };
  }
}

function cacheKey(req: TokenRequest): string {
  return JSON.stringify([req.registry, req.credentials?.username ?? '', pullScope(req.repository), req.challenge.realm, req.challenge.service ?? '']);
}
