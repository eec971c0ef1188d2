// Structured JSON logs (pino), one line per event. Secrets are redacted by path.
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'flotilla' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: {
        paths: ['req.headers.authorization', 'req.headers.cookie', 'password', '*.password', 'token', '*.token', 'tls.key', '*.tls.key'],
        censor: '[redacted]',
      },
    },
    destination,
  );
}
