import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger };

/**
 * One JSON logger per process. Secrets never reach it by construction (they are not in job
 * data or errors); the redaction list is a second fence for fields that could carry one.
 */
export function createLogger(
  name: string,
  level: string = process.env.LOG_LEVEL ?? 'info',
  destination?: DestinationStream,
): Logger {
  return pino(
    {
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
    },
    destination,
  );
}
