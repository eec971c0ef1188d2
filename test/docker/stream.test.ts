// Pure decoders: multiplexed frames, NDJSON, line reassembly, query encoding.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { encodeRegistryAuth, parseImageReference } from '../../src/docker/images.ts';
import { buildQuery, encodeFilters } from '../../src/docker/query.ts';
import { FrameDecoder, LineSplitter, NdjsonParser, demuxFrames } from '../../src/docker/stream.ts';
import type { DecodedFrame } from '../../src/docker/stream.ts';

function frame(type: number, payload: Buffer): Buffer {
  const header = Buffer.alloc(8);
  header[0] = type;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

const expected: DecodedFrame[] = [
  { stream: 'stdout', data: Buffer.from('hello\n') },
  { stream: 'stderr', data: Buffer.from([0x65, 0x72, 0x00, 0xff, 0x0a]) },
  { stream: 'stdout', data: randomBytes(300) },
  { stream: 'stderr', data: Buffer.alloc(0) },
  // Payload bytes that look like frame headers must not confuse the decoder.
  { stream: 'stdout', data: Buffer.from([2, 0, 0, 0, 0, 0, 0, 9, 1]) },
  { stream: 'stderr', data: Buffer.from('日本\n') },
];
const wire = Buffer.concat(expected.map((f) => frame(f.stream === 'stdout' ? 1 : 2, f.data)));

function decodeChunks(chunks: Buffer[]): DecodedFrame[] {
  const decoder = new FrameDecoder();
  const frames = chunks.flatMap((chunk) => decoder.push(chunk));
  assert.equal(decoder.remainder, 0);
  return frames;
}

test('demuxer decodes interleaved binary frames split at every byte boundary', () => {
  for (let cut = 0; cut <= wire.length; cut++) {
    assert.deepEqual(decodeChunks([wire.subarray(0, cut), wire.subarray(cut)]), expected, `cut at ${cut}`);
  }
});

test('demuxer decodes a stream delivered one byte at a time and in random pieces', async () => {
  const bytes = [...wire].map((b) => Buffer.from([b]));
  assert.deepEqual(decodeChunks(bytes), expected);
  for (let round = 0; round < 50; round++) {
    const cuts = [0, ...Array.from({ length: 5 }, () => Math.floor(Math.random() * wire.length)).sort((a, b) => a - b), wire.length];
    const chunks = cuts.slice(1).map((end, i) => wire.subarray(cuts[i], end));
    assert.deepEqual(decodeChunks(chunks), expected);
  }
  async function* source(): AsyncGenerator<Buffer> {
    yield* bytes;
  }
  const streamed: DecodedFrame[] = [];
  for await (const f of demuxFrames(source())) streamed.push(f);
  assert.deepEqual(streamed, expected);
});

test('a system-error frame ends the demultiplexed stream with the engine message', async () => {
  async function* source(): AsyncGenerator<Buffer> {
    yield Buffer.concat([frame(1, Buffer.from('ok\n')), frame(3, Buffer.from('disk on fire'))]);
  }
  const seen: string[] = [];
  await assert.rejects(async () => {
    for await (const f of demuxFrames(source(), (message) => new Error(`mapped: ${message}`))) seen.push(f.data.toString());
  }, /mapped: disk on fire/);
  assert.deepEqual(seen, ['ok\n']);
});

test('demuxer keeps a partial frame pending and reports it as remainder', () => {
  const decoder = new FrameDecoder();
  assert.deepEqual(decoder.push(wire.subarray(0, 10)), []);
  assert.equal(decoder.remainder, 10);
});

test('demuxer rejects data that is not multiplexed (a TTY stream)', () => {
  assert.throws(() => new FrameDecoder().push(Buffer.from('hello world\n')), /not a multiplexed stream/);
});

test('demuxer surfaces stream type 3 as a system error frame', () => {
  assert.deepEqual(new FrameDecoder().push(frame(3, Buffer.from('boom'))), [{ stream: 'system', data: Buffer.from('boom') }]);
});

test('line splitter reassembles lines per stream across frames and cut characters', () => {
  const splitter = new LineSplitter();
  const text = Buffer.from('é-line\r\n');
  const lines = [
    ...splitter.push({ stream: 'stdout', data: Buffer.from('par') }),
    ...splitter.push({ stream: 'stderr', data: Buffer.from('oops\nhalf') }),
    ...splitter.push({ stream: 'stdout', data: Buffer.concat([Buffer.from('t1\n'), text.subarray(0, 1)]) }),
    ...splitter.push({ stream: 'stdout', data: text.subarray(1) }),
    ...splitter.flush(),
  ];
  assert.deepEqual(lines, [
    { stream: 'stderr', line: 'oops' },
    { stream: 'stdout', line: 'part1' },
    { stream: 'stdout', line: 'é-line' },
    { stream: 'stderr', line: 'half' },
  ]);
});

test('NDJSON parser is robust to any chunk boundary, CRLF, blank lines and multi-byte text', () => {
  const values = [{ status: 'Pulling fs layer', id: 'ab' }, { status: 'Ünïcødé 日本' }, { n: 1 }];
  const text = Buffer.from(`${JSON.stringify(values[0])}\r\n\r\n${JSON.stringify(values[1])}\n${JSON.stringify(values[2])}`);
  for (let cut = 0; cut <= text.length; cut++) {
    const parser = new NdjsonParser();
    const out = [...parser.push(text.subarray(0, cut)), ...parser.push(text.subarray(cut)), ...parser.end()];
    assert.deepEqual(out, values, `cut at ${cut}`);
  }
});

test('filters are encoded as a JSON map of arrays, empty ones left out', () => {
  assert.equal(encodeFilters({ label: 'a=b', status: ['running', 'exited'], name: undefined }), '{"label":["a=b"],"status":["running","exited"]}');
  assert.equal(encodeFilters({}), undefined);
  const query = new URLSearchParams(buildQuery({ all: true, limit: 3, size: undefined, filters: { label: ['x'] } }).slice(1));
  assert.deepEqual(Object.fromEntries(query), { all: 'true', limit: '3', filters: '{"label":["x"]}' });
  assert.equal(buildQuery({ filters: {} }), '');
});

test('image references split registry port, tag and digest correctly', () => {
  assert.deepEqual(parseImageReference('10.1.0.1:5000/busybox:1'), { repository: '10.1.0.1:5000/busybox', tag: '1' });
  assert.deepEqual(parseImageReference('10.1.0.1:5000/busybox'), { repository: '10.1.0.1:5000/busybox', tag: 'latest' });
  assert.deepEqual(parseImageReference('busybox@sha256:abc'), { repository: 'busybox', tag: 'sha256:abc' });
  assert.deepEqual(parseImageReference('library/redis:7-alpine'), { repository: 'library/redis', tag: '7-alpine' });
});

test('registry auth header is URL-safe base64 JSON', () => {
  const auth = { username: 'u?>>', password: 'p~~~ÿ', serveraddress: 'r:5000' };
  const encoded = encodeRegistryAuth(auth);
  assert.doesNotMatch(encoded, /[+/]/);
  assert.deepEqual(JSON.parse(Buffer.from(encoded, 'base64url').toString('utf8')), auth);
});
