// The failures of a self-update a caller can act on, besides UpdateRefused
// (the recreate module's refusals) and the host errors of src/errors.ts.
import { FlotillaError } from '../../errors.ts';

/** Nothing was started: the agent container cannot be updated this way (the message says why). */
export class SelfUpdateRefused extends FlotillaError {
  override readonly statusCode: number = 409;
  override readonly code: string = 'self_update_refused';
}

/**
 * The updater ended without a result: it died before printing one (and had not
 * begun changing containers, or could not be recovered), or it was removed by
 * someone else. The message says what state it left and the tail of its output.
 */
export class SelfUpdateLost extends FlotillaError {
  override readonly statusCode: number = 502;
  override readonly code: string = 'self_update_lost';
  readonly updaterId: string;
  readonly exitCode: number | undefined;
  constructor(updaterId: string, message: string, options: { exitCode?: number; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.updaterId = updaterId;
    this.exitCode = options.exitCode;
  }
}

/** The updater did not finish (or its engine did not answer) within the timeout: it may still be running; ask again. */
export class SelfUpdateTimeout extends FlotillaError {
  override readonly statusCode: number = 504;
  override readonly code: string = 'self_update_timeout';
  readonly updaterId: string;
  constructor(updaterId: string, message: string, options: { cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.updaterId = updaterId;
  }
}
