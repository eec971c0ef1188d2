// Decoders for the engine's stream formats: the 8-byte-header stdout/stderr
// multiplexing used when a container has no TTY, and newline-delimited JSON.
// Both keep state across chunks, because the network splits data anywhere.

export type StreamName = 'stdout' | 'stderr';

export interface OutputFrame {
  stream: StreamName;
  /** Raw bytes: output may be binary or cut mid-character. */
  data: Buffer;
}

/** Stream type 3 is the engine reporting an error in-band (API ≥ 1.41 system error). */
export interface SystemErrorFrame {
  stream: 'system';
  data: Buffer;
}

export type DecodedFrame = OutputFrame | SystemErrorFrame;

const HEADER_SIZE = 8;
const STREAM_NAMES: Record<number, DecodedFrame['stream']> = { 0: 'stdout', 1: 'stdout', 2: 'stderr', 3: 'system' };

/** Header: [stream, 0, 0, 0, size uint32 big-endian], then `size` payload bytes. */
export class FrameDecoder {
  #pending: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): DecodedFrame[] {
    this.#pending = this.#pending.length === 0 ? chunk : Buffer.concat([this.#pending, chunk]);
    const frames: DecodedFrame[] = [];
    let offset = 0;
    while (this.#pending.length - offset >= HEADER_SIZE) {
      const type = this.#pending[offset];
      const stream = STREAM_NAMES[type];
      if (stream === undefined) throw new Error(`not a multiplexed stream: header byte ${type} at frame start`);
      const size = this.#pending.readUInt32BE(offset + 4);
      if (this.#pending.length - offset - HEADER_SIZE < size) break;
      const start = offset + HEADER_SIZE;
      // Copy: the payload must not pin (or alias) the whole receive buffer.
      frames.push({ stream, data: Buffer.from(this.#pending.subarray(start, start + size)) } as DecodedFrame);
      offset = start + size;
    }
    this.#pending = this.#pending.subarray(offset);
    return frames;
  }

  /** Bytes left over when the stream ended (a truncated frame), so callers can tell. */
  get remainder(): number {
    return this.#pending.length;
  }
}

/** Turns the engine's in-band error text into the error to throw. */
export type SystemErrorMapper = (message: string) => Error;

const plainSystemError: SystemErrorMapper = (message) => new Error(`engine reported an error in the stream: ${message}`);

/** Yields stdout/stderr frames; a system-error frame ends the stream with an error. */
export async function* demuxFrames(chunks: AsyncIterable<Buffer>, onSystemError = plainSystemError): AsyncGenerator<OutputFrame> {
  const decoder = new FrameDecoder();
  for await (const chunk of chunks) {
    for (const frame of decoder.push(chunk)) {
      if (frame.stream === 'system') throw onSystemError(frame.data.toString('utf8'));
      yield frame;
    }
  }
}

/** With a TTY the engine sends one raw stream; it is all stdout. */
export async function* rawFrames(chunks: AsyncIterable<Buffer>): AsyncGenerator<OutputFrame> {
  for await (const chunk of chunks) yield { stream: 'stdout', data: chunk };
}

export function outputFrames(chunks: AsyncIterable<Buffer>, tty: boolean, onSystemError = plainSystemError): AsyncGenerator<OutputFrame> {
  return tty ? rawFrames(chunks) : demuxFrames(chunks, onSystemError);
}

export interface OutputLine {
  stream: StreamName;
  line: string;
}

/**
 * Reassembles lines per stream: a frame may hold half a line or several, and a
 * line's bytes may be cut mid-character. A TTY's `\r\n` ends a line like `\n`.
 */
export class LineSplitter {
  readonly #partial: Record<StreamName, Buffer> = { stdout: Buffer.alloc(0), stderr: Buffer.alloc(0) };

  push(frame: OutputFrame): OutputLine[] {
    const lines: OutputLine[] = [];
    let buffer = Buffer.concat([this.#partial[frame.stream], frame.data]);
    let newline = buffer.indexOf(0x0a);
    while (newline !== -1) {
      lines.push({ stream: frame.stream, line: buffer.subarray(0, newline).toString('utf8').replace(/\r$/, '') });
      buffer = buffer.subarray(newline + 1);
      newline = buffer.indexOf(0x0a);
    }
    this.#partial[frame.stream] = buffer;
    return lines;
  }

  /** The unterminated tail of each stream, as a last line. */
  flush(): OutputLine[] {
    const lines: OutputLine[] = [];
    for (const stream of ['stdout', 'stderr'] as const) {
      if (this.#partial[stream].length > 0) lines.push({ stream, line: this.#partial[stream].toString('utf8').replace(/\r$/, '') });
      this.#partial[stream] = Buffer.alloc(0);
    }
    return lines;
  }
}

export async function* splitLines(frames: AsyncIterable<OutputFrame>): AsyncGenerator<OutputLine> {
  const splitter = new LineSplitter();
  for await (const frame of frames) yield* splitter.push(frame);
  yield* splitter.flush();
}

/** Splits on `\n` bytes (never inside a UTF-8 sequence); blank lines and `\r` are skipped. */
export class NdjsonParser {
  #pending: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): unknown[] {
    const values: unknown[] = [];
    let buffer = this.#pending.length === 0 ? chunk : Buffer.concat([this.#pending, chunk]);
    let newline = buffer.indexOf(0x0a);
    while (newline !== -1) {
      this.#parseLine(buffer.subarray(0, newline), values);
      buffer = buffer.subarray(newline + 1);
      newline = buffer.indexOf(0x0a);
    }
    this.#pending = buffer;
    return values;
  }

  /** A final value without a trailing newline. */
  end(): unknown[] {
    const values: unknown[] = [];
    this.#parseLine(this.#pending, values);
    this.#pending = Buffer.alloc(0);
    return values;
  }

  #parseLine(bytes: Buffer, into: unknown[]): void {
    const text = bytes.toString('utf8').trim();
    if (text !== '') into.push(JSON.parse(text));
  }
}

export async function* ndjson<T>(chunks: AsyncIterable<Buffer>): AsyncGenerator<T> {
  const parser = new NdjsonParser();
  for await (const chunk of chunks) yield* parser.push(chunk) as T[];
  yield* parser.end() as T[];
}
