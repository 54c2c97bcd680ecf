import { pino, type DestinationStream, type Logger, type TransportSingleOptions } from 'pino';

export type { Logger };

/**
 * One logger per process: JSON lines by default, or pretty lines for a person at a terminal
 * when LOG_FORMAT=pretty (`npm start` sets it). Secrets never reach it by construction (they are
 * not in job data or errors); the redaction list is a second fence for fields that could carry one.
 */
export function createLogger(
  name: string,
  level: string = process.env.LOG_LEVEL ?? 'info',
  destination?: DestinationStream,
): Logger {
  const options = {
    name,
    level,
    redact: {
      paths: [
        'client_secret',
        'partner_api_key',
        'data_import_key',
        '*.client_secret',
        '*.partner_api_key',
        '*.data_import_key',
        'req.headers.authorization',
        'headers.authorization',
      ],
      censor: '[redacted]',
    },
  };
  if (!destination && process.env.LOG_FORMAT === 'pretty') {
    return pino({ ...options, transport: prettyTransport });
  }
  return pino(options, destination);
}

/** run-local prefixes each line with the process name, so the name, pid and host are left out. */
const prettyTransport: TransportSingleOptions = {
  target: 'pino-pretty',
  options: { colorize: true, translateTime: 'SYS:HH:MM:ss', ignore: 'pid,hostname,name', singleLine: true },
};
