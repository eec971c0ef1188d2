// Progress on stderr while the server works: a spinner with elapsed time for
// one long call, compact per-layer lines for an image pull, and Ctrl-C handling
// for streams.

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
const CLEAR_LINE = '\r\x1b[2K';

/**
 * Runs `work` while showing what is going on. On a terminal: a spinner and the
 * elapsed seconds, cleared at the end. Elsewhere: one "label…" line.
 */
export async function withSpinner<T>(label: string, work: Promise<T>, stream: NodeJS.WriteStream = process.stderr): Promise<T> {
  if (!stream.isTTY) {
    stream.write(`${label}…\n`);
    return work;
  }
  const started = Date.now();
  let frame = 0;
  const draw = () => {
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    stream.write(`${CLEAR_LINE}${FRAMES[frame++ % FRAMES.length]} ${label}… ${seconds}s`);
  };
  draw();
  const timer = setInterval(draw, 100);
  try {
    return await work;
  } finally {
    clearInterval(timer);
    stream.write(CLEAR_LINE);
  }
}

/** One message of the engine's pull progress, as the server relays it. */
export interface PullMessage {
  status?: string;
  id?: string;
  progress?: string;
  error?: string;
  errorDetail?: { message?: string };
  image?: string;
}

/**
 * Prints a line when a layer's status changes ("Pulling fs layer", "Download
 * complete", "Pull complete"), not on every byte; on a terminal the running
 * download/extract bar is redrawn in place on one line.
 */
export class PullProgressPrinter {
  readonly #stream: NodeJS.WriteStream;
  readonly #lastStatus = new Map<string, string>();
  #barShown = false;

  constructor(stream: NodeJS.WriteStream = process.stderr) {
    this.#stream = stream;
  }

  show(m: PullMessage): void {
    if (!m.status || m.status === 'done') return;
    const layer = m.id ?? '';
    const ticking = Boolean(m.progress) && (m.status === 'Downloading' || m.status === 'Extracting');
    if (ticking) {
      if (this.#stream.isTTY) {
        this.#stream.write(`${CLEAR_LINE}${layer}: ${m.status} ${m.progress}`);
        this.#barShown = true;
      }
      if (this.#lastStatus.get(layer) === m.status) return;
    }
    this.#lastStatus.set(layer, m.status);
    if (ticking && this.#stream.isTTY) return;
    this.#line(layer ? `${layer}: ${m.status}` : m.status);
  }

  finish(): void {
    if (this.#barShown) this.#stream.write(CLEAR_LINE);
    this.#barShown = false;
  }

  #line(text: string): void {
    this.#stream.write((this.#barShown ? CLEAR_LINE : '') + text + '\n');
    this.#barShown = false;
  }
}

/**
 * An AbortSignal fired by Ctrl-C, for a stream the user ends on purpose.
 * `interrupted()` tells the caller that the stream ended that way.
 */
export function abortOnInterrupt(): { signal: AbortSignal; interrupted: () => boolean; dispose: () => void } {
  const ctl = new AbortController();
  const onSignal = () => ctl.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  return {
    signal: ctl.signal,
    interrupted: () => ctl.signal.aborted,
    dispose: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}
