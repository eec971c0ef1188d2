// Hijacked endpoints (attach, exec start): an HTTP request with `Connection: Upgrade`,
// `Upgrade: tcp`; after the engine's 101 the connection is a raw byte stream.
import type { Duplex } from 'node:stream';
import type { Dispatcher } from 'undici';
import type { Transport } from '../transports/types.ts';
import { CallDeadline } from './deadline.ts';
import { engineError, timeoutError, toHostError } from './errors.ts';
import type { CallContext } from './errors.ts';
import { DEFAULT_TIMEOUT_MS } from './request.ts';
import type { EngineRequest } from './request.ts';

/**
 * A dispatch handler of our own rather than undici's `upgrade()` helper: that one
 * turns an engine's 404/409 JSON answer into a bare "bad upgrade", losing the message.
 */
function upgradeHandler(
  call: CallContext,
  signal: AbortSignal,
  settle: (error: Error | null, socket?: Duplex) => void,
): Dispatcher.DispatchHandler {
  let status = 0;
  const chunks: Buffer[] = [];
  return {
    onRequestStart(controller) {
      // Abort before the 101 arrives cancels the request; after it, the socket is the caller's.
      if (signal.aborted) controller.abort(signal.reason as Error);
      else signal.addEventListener('abort', () => controller.abort(signal.reason as Error), { once: true });
    },
    onRequestUpgrade(_controller, _statusCode, _headers, socket) {
      settle(null, socket);
    },
    onResponseStart(_controller, statusCode) {
      status = statusCode;
    },
    onResponseData(_controller, chunk) {
      chunks.push(chunk);
    },
    onResponseEnd() {
      const text = Buffer.concat(chunks).toString('utf8');
      // A 2xx without an upgrade means the engine ignored the Upgrade header: nothing to hand back.
      settle(status >= 400 ? engineError(status, text, call) : toHostError(new Error(`engine answered ${status} without upgrading`), call));
    },
    onResponseError(_controller, error) {
      settle(error);
    },
  };
}

export async function sendHijack(transport: Transport, req: EngineRequest): Promise<Duplex> {
  const call = { label: transport.label, what: req.what };
  const timeoutMs = req.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const deadline = new CallDeadline(timeoutMs, req.signal, () => timeoutError(call, timeoutMs));
  const body = req.json === undefined ? null : JSON.stringify(req.json);
  const headers: Record<string, string> = { ...req.headers };
  if (body !== null) headers['content-type'] = 'application/json';
  try {
    return await new Promise<Duplex>((resolve, reject) => {
      let settled = false;
      const settle = (error: Error | null, socket?: Duplex): void => {
        if (settled) {
          socket?.destroy();
          return;
        }
        settled = true;
        if (error === null && socket !== undefined) resolve(socket);
        else reject(error ?? new Error('upgrade failed'));
      };
      const handler = upgradeHandler(call, deadline.signal, settle);
      deadline.signal.addEventListener('abort', () => settle(deadline.signal.reason as Error), { once: true });
      transport.dispatcher.dispatch({
        origin: transport.origin,
        method: req.method,
        path: req.path,
        headers,
        body,
        upgrade: 'tcp',
        headersTimeout: 0,
        bodyTimeout: 0,
      }, handler);
    });
  } catch (error) {
    if (deadline.cancelledByCaller) throw error;
    throw toHostError(error, call);
  } finally {
    deadline.dispose();
  }
}
