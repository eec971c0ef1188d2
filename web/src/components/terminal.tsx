// An exec terminal in the browser: xterm.js over a WebSocket to the server's
// …/terminal route (binary frames are terminal bytes, text frames JSON control).
// Loaded on demand by the container page, so the shell's bundle stays small.
import { useEffect, useRef, useState } from 'preact/hooks';
import { Terminal as XTerm } from '@xterm/xterm';
import { FitAddon } from '@xterm/addon-fit';
import '@xterm/xterm/css/xterm.css';
import './terminal.css';
import { path } from '../api.ts';

type State = 'connecting' | 'open' | 'closed';

/**
 * xterm.js writes its theme and layout rules into <style> elements it creates; the page's
 * Content-Security-Policy (style-src 'self') refuses every such element, even an empty one.
 * Constructed stylesheets (CSSOM) are allowed, so while a terminal is mounted a `<style>`
 * asked of the document is a stand-in element whose text lands in an adopted stylesheet.
 * (xterm only sets textContent and calls remove() on them.)
 */
let stylePatchUsers = 0;
let originalCreateElement: Document['createElement'] | undefined;
const constructedSheets = new Set<CSSStyleSheet>();

/** Returns the undo (the last terminal to go restores createElement). */
function installConstructedStyles(): () => void {
  if (stylePatchUsers++ === 0) {
    const original = document.createElement;
    originalCreateElement = original;
    document.createElement = function createElement(this: Document, tag: string, options?: ElementCreationOptions) {
      if (tag.toLowerCase() !== 'style') return original.call(this, tag, options);
      return constructedStyleElement(original.call(this, 'flotilla-style'));
    } as Document['createElement'];
  }
  return () => {
    if (--stylePatchUsers > 0 || !originalCreateElement) return;
    document.createElement = originalCreateElement;
    originalCreateElement = undefined;
    document.adoptedStyleSheets = document.adoptedStyleSheets.filter((s) => !constructedSheets.has(s));
    constructedSheets.clear();
  };
}

function constructedStyleElement(stand: HTMLElement): HTMLElement {
  const sheet = new CSSStyleSheet();
  constructedSheets.add(sheet);
  document.adoptedStyleSheets = [...document.adoptedStyleSheets, sheet];
  let text = '';
  stand.hidden = true;
  Object.defineProperty(stand, 'textContent', {
    get: () => text,
    set: (value: string | null) => { text = value ?? ''; sheet.replaceSync(text); },
  });
  const remove = stand.remove.bind(stand);
  stand.remove = () => {
    constructedSheets.delete(sheet);
    document.adoptedStyleSheets = document.adoptedStyleSheets.filter((s) => s !== sheet);
    remove();
  };
  return stand;
}

function terminalUrl(host: string, id: string, cmd: string, cols: number, rows: number): string {
  const url = new URL(`/api/v1${path`/hosts/${host}/containers/${id}/terminal`}`, location.href);
  url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
  url.search = new URLSearchParams({ cmd, cols: String(cols), rows: String(rows) }).toString();
  return url.toString();
}

const SHELLS = ['sh', 'bash', 'ash'];

export function Terminal({ host, id }: { host: string; id: string }) {
  const box = useRef<HTMLDivElement>(null);
  const [cmd, setCmd] = useState('sh');
  const [session, setSession] = useState(0);
  const [state, setState] = useState<State>('connecting');
  const [note, setNote] = useState<string>();

  useEffect(() => {
    const el = box.current!;
    const releaseStyles = installConstructedStyles();
    const term = new XTerm({
      cursorBlink: true, fontSize: 13, scrollback: 5000, convertEol: false,
      fontFamily: 'ui-monospace, SFMono-Regular, Menlo, Consolas, "DejaVu Sans Mono", monospace',
      theme: { background: '#0f1620', foreground: '#dfe7f1', cursor: '#dfe7f1' },
    });
    const fit = new FitAddon();
    term.loadAddon(fit);
    term.open(el);
    fit.fit();
    setState('connecting');
    setNote(undefined);

    const ws = new WebSocket(terminalUrl(host, id, cmd, term.cols, term.rows));
    ws.binaryType = 'arraybuffer';
    const encoder = new TextEncoder();
    const send = (data: string | Uint8Array) => { if (ws.readyState === WebSocket.OPEN) ws.send(data); };
    let opened = false;
    ws.onopen = () => { opened = true; setState('open'); term.focus(); };
    ws.onmessage = (e: MessageEvent<ArrayBuffer | string>) => {
      term.write(typeof e.data === 'string' ? e.data : new Uint8Array(e.data));
    };
    ws.onclose = (e) => {
      setState('closed');
      // Before the handshake a browser is not told why (a refusal is an HTTP status it hides).
      setNote(opened ? `Session ended: ${e.reason || `code ${e.code}`}` : 'The server refused the terminal (not running, or not allowed).');
      term.write('\r\n\x1b[2m[session ended]\x1b[0m\r\n');
    };
    const typed = term.onData((d) => send(encoder.encode(d)));
    const binary = term.onBinary((d) => send(Uint8Array.from(d, (c) => c.charCodeAt(0))));
    const resized = term.onResize(({ cols, rows }) => send(JSON.stringify({ type: 'resize', cols, rows })));
    let frame = 0;
    const observer = new ResizeObserver(() => {
      cancelAnimationFrame(frame);
      frame = requestAnimationFrame(() => fit.fit());
    });
    observer.observe(el);

    return () => {
      observer.disconnect();
      cancelAnimationFrame(frame);
      typed.dispose(); binary.dispose(); resized.dispose();
      ws.onclose = null;
      ws.close();
      term.dispose();
      releaseStyles();
    };
  }, [host, id, cmd, session]);

  return (
    <section class="terminal" aria-labelledby="terminal-title" data-state={state}>
      <div class="toolbar">
        <h2 id="terminal-title">Terminal</h2>
        <label class="inline">Shell
          <select value={cmd} onChange={(e) => setCmd((e.target as HTMLSelectElement).value)}>
            {SHELLS.map((s) => <option key={s} value={s}>{s}</option>)}
          </select>
        </label>
        <span class={`status status-${state === 'open' ? 'running' : state === 'closed' ? 'exited' : 'pending'}`} role="status">{state}</span>
        {state === 'closed' && <button type="button" onClick={() => setSession((n) => n + 1)}>Reconnect</button>}
      </div>
      {note && <p class="muted">{note}</p>}
      <div ref={box} class="termbox" data-terminal />
    </section>
  );
}
