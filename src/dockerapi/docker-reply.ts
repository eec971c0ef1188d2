// Answers in the Docker API's own error format, {"message": …}, so the docker
// CLI and SDKs print our messages like the engine's.
import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

export class DockerEndpointError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

export function sendDockerError(res: ServerResponse, status: number, message: string): void {
  sendJson(res, status, { message });
}

/** For hijack requests, which have no ServerResponse: a plain HTTP answer on the socket. */
export function rejectUpgrade(socket: Socket, status: number, message: string): void {
  const text = JSON.stringify({ message });
  socket.end(`HTTP/1.1 ${status} ${status === 401 ? 'Unauthorized' : status === 404 ? 'Not Found' : 'Error'}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`);
}
