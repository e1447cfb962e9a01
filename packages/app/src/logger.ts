import { pino } from 'pino';

/** Phone numbers, emails, tokens and message bodies never reach the logs. */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'req.headers["x-hubspot-signature"]',
  'req.headers["x-hubspot-signature-v3"]',
  'req.headers.cookie',
  '*.phone',
  '*.email',
  '*.to',
  '*.body',
  '*.text',
  '*.token',
  '*.accessToken',
  '*.refreshToken',
  '*.secret',
  '*.identities',
  '*.variables',
  '*.rendered',
];

export type Logger = pino.Logger;

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  const options = { level, redact: { paths: REDACT_PATHS, censor: '[redacted]' }, base: { service: 'signalbox' } };
  return destination ? pino(options, destination) : pino(options);
}
