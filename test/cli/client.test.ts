// The CLI client's pure parts: NDJSON reading, path encoding, URL and connection resolution, tables.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { apiPath, readNdjson } from '../../src/cli/client/api-client.ts';
import { normalizeServerUrl, NotSignedIn, resolveConnection } from '../../src/cli/client/config-file.ts';
import { renderTable } from '../../src/cli/client/output.ts';

async function* chunks(...parts: string[]): AsyncGenerator<Uint8Array> {
  for (const p of parts) yield Buffer.from(p);
}

test('NDJSON lines cut across chunks (even mid-character) are joined before parsing', async () => {
  const euro = Buffer.from('{"line":"€"}\n');
  async function* split(): AsyncGenerator<Uint8Array> {
    yield Buffer.from('{"a":1}\n{"b":');
    yield Buffer.from('2}\n\n');
    yield euro.subarray(0, 10);
    yield euro.subarray(10);
    yield Buffer.from('{"last":true}');
  }
  const got: unknown[] = [];
  for await (const item of readNdjson(split())) got.push(item);
  assert.deepEqual(got, [{ a: 1 }, { b: 2 }, { line: '€' }, { last: true }]);
});

test('a malformed NDJSON line is an error quoting the line', async () => {
  await assert.rejects(async () => {
    for await (const _ of readNdjson(chunks('{"ok":1}\n', 'not json\n'))) { /* drain */ }
  }, /malformed line .*not json/);
});

test('apiPath encodes every interpolated value, so image references keep their slashes and colons', () => {
  assert.equal(apiPath`/hosts/${'edge 1'}/images/${'10.0.0.1:5000/busybox:1'}`, '/hosts/edge%201/images/10.0.0.1%3A5000%2Fbusybox%3A1');
});

test('server URLs are normalised and non-http URLs refused', () => {
  assert.equal(normalizeServerUrl('http://127.0.0.1:8080/'), 'http://127.0.0.1:8080');
  assert.equal(normalizeServerUrl('https://fleet.example/flotilla/api/v1/'), 'https://fleet.example/flotilla');
  assert.throws(() => normalizeServerUrl('ftp://x'), /http:\/\/ or https:\/\//);
  assert.throws(() => normalizeServerUrl('localhost:8080'), /http:\/\/ or https:\/\/|not a URL/);
});

test('flags beat the environment, which beats the saved file; a saved token only goes to its own server', () => {
  const saved = { url: 'http://a:1', token: 'flt_saved' };
  assert.deepEqual(resolveConnection({}, {}, saved), { url: 'http://a:1', token: 'flt_saved' });
  assert.deepEqual(resolveConnection({}, { FLOTILLA_TOKEN: 'flt_env' }, saved), { url: 'http://a:1', token: 'flt_env' });
  assert.deepEqual(resolveConnection({ token: 'flt_flag' }, { FLOTILLA_TOKEN: 'flt_env' }, saved), { url: 'http://a:1', token: 'flt_flag' });
  assert.throws(() => resolveConnection({ url: 'http://b:2' }, {}, saved), (e: unknown) => e instanceof NotSignedIn && /not signed in to http:\/\/b:2/.test(e.message));
  assert.throws(() => resolveConnection({}, { FLOTILLA_URL: 'nope' }, {}), /FLOTILLA_URL/);
  assert.throws(() => resolveConnection({}, {}, {}), /flotilla login --url URL --username NAME/);
});

test('tables pad columns to the widest cell and show missing values as "-"', () => {
  assert.equal(renderTable(['NAME', 'STATUS'], [['a', 'connected'], ['longer-name', null]]),
    'NAME         STATUS\na            connected\nlonger-name  -\n');
});
