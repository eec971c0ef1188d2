// Turns what can go wrong on the way to an engine into the project's error types,
// always naming the host and the call that was attempted.
import {
  Conflict,
  DockerApiError,
  FlotillaError,
  HostTimeout,
  HostUnreachable,
  NotFound,
} from '../errors.ts';

/** Which host, and what we tried there: `GET /containers/json`. */
export interface CallContext {
  readonly label: string;
  readonly what: string;
}

const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ENOENT', 'EACCES', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH',
  'ENOTFOUND', 'EAI_AGAIN', 'ECONNABORTED', 'ENOTSOCK', 'EADDRNOTAVAIL',
  'UND_ERR_SOCKET', 'UND_ERR_CLOSED', 'UND_ERR_DESTROYED',
]);
const TIMEOUT_CODES = new Set(['ETIMEDOUT', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

function codeOf(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : '';
}

/** TLS failures surface as OpenSSL codes (ERR_SSL_…), Node codes (ERR_TLS_…) or X.509 codes. */
function isTlsFailure(error: unknown): boolean {
  const code = codeOf(error);
  const message = error instanceof Error ? error.message : '';
  return /^(ERR_SSL_|ERR_TLS_)|CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)/.test(code) || /\b(ssl|tls|alert)\b/i.test(message);
}

/** OpenSSL messages carry an error-stack prefix and a source path; keep the reason and the code. */
function tlsReason(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const reason = /:SSL routines:[^:]*:([^:]+):/.exec(message)?.[1] ?? message.trim();
  const code = codeOf(error);
  return code !== '' && !reason.includes(code) ? `${reason} (${code})` : reason;
}

/** Maps a transport-level failure; errors that are already ours pass through unchanged. */
export function toHostError(error: unknown, call: CallContext): Error {
  if (error instanceof FlotillaError) return error;
  const cause = (error as { cause?: unknown } | null)?.cause;
  const detail = error instanceof Error ? error.message : String(error);
  if (isTlsFailure(error) || (cause !== undefined && isTlsFailure(cause))) {
    const tlsDetail = tlsReason(cause instanceof Error && isTlsFailure(cause) ? cause : error);
    return new HostUnreachable(call.label, `host "${call.label}": ${call.what}: TLS failure: ${tlsDetail}`, { cause: error });
  }
  const code = codeOf(error) || codeOf(cause);
  if (TIMEOUT_CODES.has(code)) {
    return new HostTimeout(call.label, `host "${call.label}": ${call.what} timed out (${detail})`, { cause: error });
  }
  if (UNREACHABLE_CODES.has(code)) {
    return new HostUnreachable(call.label, `host "${call.label}": ${call.what}: unreachable: ${detail}`, { cause: error });
  }
  if (error instanceof Error && error.name === 'AbortError') return error;
  return new HostUnreachable(call.label, `host "${call.label}": ${call.what}: ${detail}`, { cause: error });
}

export function timeoutError(call: CallContext, timeoutMs: number): HostTimeout {
  return new HostTimeout(call.label, `host "${call.label}": ${call.what} timed out after ${timeoutMs} ms`);
}

/** The engine reports errors as `{"message": "..."}`; fall back to the raw text. */
export function engineMessage(bodyText: string): string {
  try {
    const parsed = JSON.parse(bodyText) as { message?: unknown };
    if (typeof parsed.message === 'string') return parsed.message;
  } catch {
    // Not JSON (a proxy's HTML page, an empty body): the text itself is the best we have.
  }
  return bodyText.trim() || '(no message)';
}

export function engineError(status: number, bodyText: string, call: CallContext): FlotillaError {
  const message = `host "${call.label}": ${call.what}: ${engineMessage(bodyText)}`;
  if (status === 404) return new NotFound(message);
  if (status === 409) return new Conflict(message);
  return new DockerApiError(status, `${message} (engine status ${status})`);
}

/** An error the engine reported inside a 200 stream (pull progress, log system frames). */
export function inBandError(message: string, call: CallContext): DockerApiError {
  return new DockerApiError(500, `host "${call.label}": ${call.what}: ${message}`);
}
