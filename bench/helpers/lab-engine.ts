// Direct access to one lab engine over its unix socket (undici), for baselines
// and for the containers a benchmark creates and removes again.
import { Client } from 'undici';
import type { LabNode } from '../../test/lab/fixture.ts';

export class LabEngine {
  readonly client: Client;
  readonly apiVersion: string;
  private readonly created: string[] = [];

  private constructor(client: Client, apiVersion: string) {
    this.client = client;
    this.apiVersion = apiVersion;
  }

  static async open(node: LabNode): Promise<LabEngine> {
    const client = new Client('http://localhost', { socketPath: new URL(node.unix).pathname });
    const res = await client.request({ method: 'GET', path: '/version' });
    const { ApiVersion } = (await res.body.json()) as { ApiVersion: string };
    return new LabEngine(client, ApiVersion);
  }

  /** A JSON call under /v<api>; throws on status >= 300. */
  async call<T = unknown>(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown, timeoutMs = 30_000): Promise<T> {
    const res = await this.client.request({
      method, path: `/v${this.apiVersion}${path}`, headers: { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body), headersTimeout: timeoutMs, bodyTimeout: timeoutMs,
    });
    const text = await res.body.text();
    if (res.statusCode >= 300) throw new Error(`${method} ${path}: ${res.statusCode} ${text}`);
    return (text ? JSON.parse(text) : undefined) as T;
  }

  /** Creates and starts a container; it is removed by removeCreated(). */
  async run(name: string, image: string, cmd: string[]): Promise<string> {
    const { Id } = await this.call<{ Id: string }>('POST', `/containers/create?name=${name}`, { Image: image, Cmd: cmd });
    this.created.push(Id);
    await this.call('POST', `/containers/${Id}/start`);
    return Id;
  }

  /** Reads a whole response body, counting bytes without keeping them. */
  async drain(path: string): Promise<number> {
    const res = await this.client.request({ method: 'GET', path: `/v${this.apiVersion}${path}`, headersTimeout: 60_000, bodyTimeout: 60_000 });
    if (res.statusCode !== 200) throw new Error(`GET ${path}: ${res.statusCode} ${await res.body.text()}`);
    let bytes = 0;
    for await (const chunk of res.body) bytes += (chunk as Buffer).length;
    return bytes;
  }

  async removeCreated(): Promise<void> {
    for (const id of this.created.splice(0)) {
      try {
        await this.call('DELETE', `/containers/${id}?force=true`);
      } catch (err) {
        console.error(`cleanup: could not remove container ${id}: ${(err as Error).message}`);
      }
    }
  }

  async close(): Promise<void> {
    await this.removeCreated();
    await this.client.close();
  }
}
