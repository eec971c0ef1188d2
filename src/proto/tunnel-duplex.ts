// Turns one gRPC Tunnel call (a stream of TunnelFrame messages) into a plain
// byte Duplex, on either side. HTTP/1.1 and its upgrades run over it unchanged:
// half-close travels as an `eof` frame, so `docker exec` can close stdin and
// still read the output. Backpressure is the call's own (write() → 'drain').
import { Duplex } from 'node:stream';
import type { TunnelFrame } from './generated/flotilla.ts';

/** The part of a grpc-js bidi call (client or server side) that we use. */
export interface FrameCall {
  write(frame: TunnelFrame): boolean;
  end(): void;
  pause(): unknown;
  resume(): unknown;
  on(event: 'data', fn: (frame: TunnelFrame) => void): unknown;
  on(event: 'end' | 'drain' | 'close' | 'cancelled', fn: () => void): unknown;
  on(event: 'error', fn: (err: Error) => void): unknown;
  once(event: 'drain', fn: () => void): unknown;
}

/** Data frames stay well under gRPC's default 4 MiB message limit. */
export const MAX_FRAME_BYTES = 64 * 1024;

export function tunnelDuplex(call: FrameCall, abort: (why: Error | null) => void): Duplex {
  let sentEof = false;
  let gotEof = false;
  let finished = false;
  const finishIfDone = () => {
    if (sentEof && gotEof && !finished) {
      finished = true;
      call.end();
    }
  };
  const send = (frame: TunnelFrame, cb: (err?: Error | null) => void) => {
    if (call.write(frame)) cb();
    else call.once('drain', () => cb());
  };
  const duplex = new Duplex({
    allowHalfOpen: true,
    read() {
      call.resume();
    },
    write(chunk: Buffer, _encoding, cb) {
      let offset = 0;
      const next = (err?: Error | null) => {
        if (err || offset >= chunk.length) return cb(err);
        const piece = chunk.subarray(offset, offset + MAX_FRAME_BYTES);
        offset += piece.length;
        send({ body: { $case: 'data', value: piece } }, next);
      };
      next();
    },
    final(cb) {
      sentEof = true;
      send({ body: { $case: 'eof', value: true } }, (err) => {
        finishIfDone();
        cb(err);
      });
    },
    destroy(err, cb) {
      if (!finished) {
        finished = true;
        abort(err);
      }
      cb(err);
    },
  });
  call.on('data', (frame) => {
    const body = frame.body;
    if (!body) return;
    if (body.$case === 'data') {
      if (!duplex.push(body.value)) call.pause();
    } else if (body.$case === 'eof') {
      gotEof = true;
      duplex.push(null);
      finishIfDone();
    } else if (body.$case === 'error') {
      duplex.destroy(new Error(body.value));
    }
  });
  call.on('end', () => {
    // The peer ended the call: whatever it did not say with eof is over too.
    if (!gotEof) {
      gotEof = true;
      duplex.push(null);
    }
    finishIfDone();
  });
  call.on('error', (err) => {
    finished = true;
    duplex.destroy(err);
  });
  // Server side: the agent went away (cancelled, connection lost). Nothing more will come or go.
  call.on('cancelled', () => {
    finished = true;
    duplex.destroy(new Error('tunnel cancelled by the agent'));
  });
  return duplex;
}
