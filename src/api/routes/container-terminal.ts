// An interactive shell in a container for the dashboard: a WebSocket upgraded from
// GET …/terminal, piped both ways to an exec (Tty) started over the engine's hijacked
// connection, on any host (for an agent host the client's transport is the tunnel).
// Binary frames carry terminal bytes; text frames carry JSON control messages (resize).
// The engine has no way to end an exec, and a TTY exec outlives its connection: so the
// command is started through a one-line `sh` wrapper that reports its PID, and a browser
// that leaves hangs the process up (SIGHUP, then SIGKILL) with a second exec.
import websocket from '@fastify/websocket';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { Duplex } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import type { RawData, WebSocket } from 'ws';
import { z } from 'zod';
import type { AppContext } from '../context.ts';
import type { DockerClient } from '../../docker/client.ts';
import { createExec, inspectExec, runExec, startExecHijacked } from '../../docker/exec.ts';
import { segment } from '../../docker/query.ts';
import { Forbidden } from '../../errors.ts';
import { hostObjectParams } from './params.ts';

/** A program name or path and up to a few plain arguments: no shell syntax, since it is run as argv. */
const command = z.string().max(200).regex(/^[\w./-]+( [\w./=-]+){0,7}$/, 'a program and plain arguments, e.g. "sh" or "bash -l"');
const termSize = z.coerce.number().int().min(1).max(1000);
const terminalQuery = z.object({ cmd: command.default('sh'), cols: termSize.default(80), rows: termSize.default(24) });
const controlMessage = z.discriminatedUnion('type', [
  z.object({ type: z.literal('resize'), cols: z.number().int().min(1).max(1000), rows: z.number().int().min(1).max(1000) }),
]);

/** Output buffered towards a slow browser before we stop reading from the engine. */
const HIGH_WATER = 1024 * 1024;
const LOW_WATER = 256 * 1024;
/** WebSocket close codes: 1000 normal (the command ended); 1011 the server failed; 4000+ our own. */
const CLOSE_NORMAL = 1000;
const CLOSE_SERVER_ERROR = 1011;

// Belongs with the exec calls in src/docker/exec.ts (kept here while that file is someone else's to change).
function resizeExec(docker: DockerClient, execId: string, size: { cols: number; rows: number }): Promise<void> {
  return docker.empty('POST', `/exec/${segment(execId)}/resize`, { query: { h: size.rows, w: size.cols } });
}

/** Prints the shell's PID on the terminal's first line, then becomes the command (same PID). */
const PID_MARK = 'flotilla-pid:';
function wrappedCommand(argv: string[]): string[] {
  return ['sh', '-c', `printf '${PID_MARK}%s\\n' "$$"; exec "$@"`, 'flotilla-terminal', ...argv];
}

/**
 * Reads the wrapper's PID line off the start of the output (and hides it); what follows is
 * handed back as `head`. No such line (a command that printed first, a slow start): no PID.
 */
function readPidLine(engine: Duplex, timeoutMs = 5000): Promise<{ pid?: number; head: Buffer }> {
  return new Promise((resolve) => {
    let head = Buffer.alloc(0);
    const done = (pid?: number) => {
      clearTimeout(timer);
      engine.off('data', onData);
      engine.off('end', onEnd);
      engine.pause();
      resolve({ pid, head });
    };
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const text = head.toString('latin1');
      const m = new RegExp(`^${PID_MARK}(\\d+)\\r?\\n`).exec(text);
      if (m) {
        head = head.subarray(m[0].length);
        done(Number(m[1]));
      } else if (!(text.startsWith(PID_MARK) || PID_MARK.startsWith(text)) || head.length > 64) {
        done();
      }
    };
    const onEnd = () => done();
    const timer = setTimeout(() => done(), timeoutMs);
    engine.on('data', onData);
    engine.once('end', onEnd);
  });
}

/** Ends the exec's process when the browser has gone: SIGHUP as a closed terminal would send, then SIGKILL. */
async function hangUp(docker: DockerClient, containerId: string, execId: string, pid: number): Promise<void> {
  const running = async () => (await inspectExec(docker, execId)).Running;
  for (const signal of ['HUP', 'KILL']) {
    if (!(await running())) return;
    await runExec(docker, containerId, ['sh', '-c', `kill -${signal} "$1"`, 'flotilla-hangup', String(pid)], { timeoutMs: 5000 });
    for (let waited = 0; waited < 2000; waited += 100) {
      if (!(await running())) return;
      await delay(100);
    }
  }
}

/** A close reason is at most 123 bytes of UTF-8. */
function closeReason(text: string): string {
  if (Buffer.byteLength(text) <= 123) return text;
  let out = text.slice(0, 120);
  while (Buffer.byteLength(out) > 120) out = out.slice(0, -1);
  return `${out}…`;
}

/**
 * A WebSocket cannot carry our CSRF header, and a browser sends the session cookie with a
 * handshake that any site may start: so a browser session is let in only from our own origin
 * (cross-site WebSocket hijacking). A bearer token cannot be attached by another site's page.
 */
export function refuseForeignOrigin(req: FastifyRequest): void {
  const origin = req.headers.origin;
  if (origin === undefined) {
    if (req.authMethod === 'session') throw new Forbidden('a browser session must open the terminal from the dashboard (no Origin header)');
    return;
  }
  const own = `${req.protocol}://${req.headers.host ?? ''}`;
  let given: string;
  try {
    given = new URL(origin).origin;
  } catch {
    given = origin;
  }
  if (given !== own) throw new Forbidden(`WebSocket from origin ${origin} refused: only ${own} may open a terminal`);
}

interface PreparedExec {
  docker: DockerClient;
  execId: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    terminalExec?: PreparedExec;
  }
}

export const containerTerminalRoutes: FastifyPluginAsyncZod<{ ctx: AppContext }> = async (app, { ctx }) => {
  await app.register(websocket, { options: { maxPayload: 1024 * 1024 } });
  const { fleet, adminOnly } = ctx;

  // A handshake answered with an HTTP status (401, 403, 404…) leaves a socket that Node no longer
  // parses (it was handed over as an upgrade): close it, and say so, or a client that reuses the
  // connection waits for ever. (The websocket plugin does this only once its own hook has run.)
  const isHandshake = (req: FastifyRequest) => req.headers.upgrade?.toLowerCase() === 'websocket';
  app.addHook('onSend', async (req, reply, payload) => {
    if (isHandshake(req)) reply.header('connection', 'close');
    return payload;
  });
  app.addHook('onResponse', async (req) => {
    if (isHandshake(req)) req.raw.socket.end();
  });

  app.route({
    method: 'GET',
    url: '/hosts/:host/containers/:id/terminal',
    // Denials are audited by the audit hook (403); a session that opens is recorded below.
    config: { permission: 'containers.operate', audit: 'container.terminal' },
    schema: {
      tags: ['containers'],
      summary: 'An interactive terminal (exec with a TTY) as a WebSocket: binary frames are terminal bytes both ways; a text frame {"type":"resize","cols":N,"rows":N} resizes',
      params: hostObjectParams,
      querystring: terminalQuery,
    },
    // Everything that can refuse runs before the upgrade, so a refusal is an HTTP status (403, 404, 409).
    preHandler: async (req) => {
      if (!req.ws) return;
      refuseForeignOrigin(req);
      const { host, id } = req.params;
      await adminOnly.enforce(req.user?.role ?? '', () => adminOnly.containerAccess(host, id, 'exec in'));
      const { docker } = await fleet.docker(host);
      const { Id } = await createExec(docker, id, {
        Cmd: wrappedCommand(req.query.cmd.split(' ')), Tty: true, AttachStdin: true, AttachStdout: true, AttachStderr: true,
        Env: ['TERM=xterm-256color'],
      });
      req.terminalExec = { docker, execId: Id };
    },
    handler: async (_req, reply: FastifyReply) => reply.status(426).header('upgrade', 'websocket')
      .send({ error: 'upgrade_required', message: 'this route is a WebSocket: open it with an Upgrade: websocket handshake' }),
    wsHandler: async (socket, req) => {
      const { docker, execId } = req.terminalExec!;
      const { host, id } = req.params;
      const log = req.log.child({ host, container: id, exec: execId.slice(0, 12), user: req.user?.username });
      // The session's start (or its failure) is the audited event; refusals before the upgrade are audited by the hook.
      const audit = (result: 'ok' | 'error', detail: string) => ctx.store.audit.record({
        user_id: req.user?.id ?? null, username: req.user?.username ?? null, action: 'container.terminal',
        target: `host=${host} id=${id}`, result, detail: `cmd=${req.query.cmd} exec=${execId.slice(0, 12)}${detail}`,
        request_id: req.id, source_ip: req.ip,
      }).catch((err: unknown) => log.error({ err }, 'could not write audit record'));
      // A client may type (or resize) the moment it is open, before the exec has started: keep that for it.
      const early: { data: RawData; isBinary: boolean }[] = [];
      const keep = (data: RawData, isBinary: boolean) => { early.push({ data, isBinary }); };
      socket.on('message', keep);
      let engine: Duplex;
      let started: { pid?: number; head: Buffer };
      try {
        engine = await startExecHijacked(docker, execId, { tty: true });
        void audit('ok', '');
        started = await readPidLine(engine);
      } catch (err) {
        log.warn({ err }, 'terminal exec did not start');
        void audit('error', ` ${(err as Error).message.slice(0, 300)}`);
        socket.close(CLOSE_SERVER_ERROR, closeReason((err as Error).message));
        return;
      } finally {
        socket.off('message', keep);
      }
      const { pid, head } = started;
      const endProcess = async () => {
        if (pid === undefined) return log.warn('terminal left without a PID to hang up: its process may live on');
        await hangUp(docker, id, execId, pid).catch((err: unknown) => log.warn({ err, pid }, 'could not hang up the terminal\'s process'));
      };
      if (socket.readyState !== socket.OPEN) {
        engine.destroy();
        await endProcess();
        return;
      }
      log.info({ cmd: req.query.cmd, pid }, 'terminal opened');
      const receive = pipeTerminal(socket, engine, head, {
        resize: (size) => resizeExec(docker, execId, size),
        exitCode: async () => (await inspectExec(docker, execId)).ExitCode,
        browserLeft: endProcess,
        log,
      });
      // The size the browser measured before it connected, then what it sent meanwhile.
      resizeExec(docker, execId, { cols: req.query.cols, rows: req.query.rows }).catch((err: unknown) => log.debug({ err }, 'initial resize failed'));
      for (const m of early) receive(m.data, m.isBinary);
    },
  });
};

interface TerminalControls {
  resize(size: { cols: number; rows: number }): Promise<void>;
  exitCode(): Promise<number | null>;
  /** The browser closed while the process runs. */
  browserLeft(): Promise<void>;
  log: FastifyRequest['log'];
}

/**
 * Bytes both ways, with backpressure towards the browser; when either side ends, both are
 * closed. Returns the handler of the browser's frames (for frames that came before).
 */
function pipeTerminal(socket: WebSocket, engine: Duplex, head: Buffer, controls: TerminalControls): (data: RawData, isBinary: boolean) => void {
  let buffered = 0;
  let closed = false;
  let engineEnded = false;
  const finish = (code: number, reason: string) => {
    if (closed) return;
    closed = true;
    engine.destroy();
    if (socket.readyState === socket.OPEN || socket.readyState === socket.CONNECTING) socket.close(code, closeReason(reason));
    if (!engineEnded) void controls.browserLeft();
  };

  if (head.length) socket.send(head, { binary: true });
  engine.on('data', (chunk: Buffer) => {
    buffered += chunk.length;
    socket.send(chunk, { binary: true }, () => {
      buffered -= chunk.length;
      if (buffered < LOW_WATER && engine.isPaused()) engine.resume();
    });
    if (buffered > HIGH_WATER) engine.pause();
  });
  engine.resume();
  engine.once('end', () => {
    engineEnded = true;
    // The process ended (exit, or the shell read EOF): say how, then close.
    controls.exitCode().then(
      (code) => finish(CLOSE_NORMAL, code === null ? 'ended' : `exited with code ${code}`),
      () => finish(CLOSE_NORMAL, 'ended'),
    );
  });
  engine.once('error', (err) => {
    controls.log.warn({ err }, 'terminal connection to the engine failed');
    finish(CLOSE_SERVER_ERROR, `engine connection failed: ${err.message}`);
  });
  engine.once('close', () => {
    if (!closed) setTimeout(() => finish(CLOSE_NORMAL, 'ended'), 1000).unref();
  });

  const receive = (data: RawData, isBinary: boolean) => {
    const bytes = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
    if (isBinary) {
      if (!closed) engine.write(bytes);
      return;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(bytes.toString('utf8'));
    } catch {
      parsed = undefined;
    }
    const message = controlMessage.safeParse(parsed);
    if (!message.success) {
      controls.log.debug({ text: bytes.toString('utf8').slice(0, 200) }, 'terminal control message ignored');
      return;
    }
    controls.resize(message.data).catch((err: unknown) => controls.log.debug({ err }, 'terminal resize failed'));
  };
  socket.on('message', receive);
  socket.once('close', () => {
    controls.log.info('terminal closed');
    finish(CLOSE_NORMAL, 'closed');
  });
  socket.once('error', () => finish(CLOSE_SERVER_ERROR, 'socket error'));
  return receive;
}
