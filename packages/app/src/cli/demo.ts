/**
 * `pnpm demo`: loads the demo contacts into a running Signalbox and runs the seed stories through
 * its API, so every screen of the console has something to show. It talks to the app at
 * PUBLIC_URL (or http://HOST:PORT) with the configured admin key (or the one the embedded
 * profile generated in DATA_DIR).
 */
import { resolve } from 'node:path';
import { resolveApiKeys } from '../api-keys.js';
import { type Config, ConfigError, loadConfig } from '../config.js';
import { demoCalls } from '../demo/demo-stories.js';
import { DemoError, runDemo } from '../demo/run-demo.js';

export interface DemoIo {
  out: (s: string) => void;
  err: (s: string) => void;
  config: Config;
  now: () => Date;
}

/** Runs the demo; returns the exit code (0 done, 1 refused by the app, 2 no app or no admin key). */
export async function demoCommand(io: DemoIo): Promise<number> {
  const url = (io.config.PUBLIC_URL ?? `http://${io.config.HOST}:${io.config.PORT}`).replace(/\/$/, '');
  const admin = resolveApiKeys(io.config).keys.find((k) => k.role === 'admin');
  if (admin === undefined) {
    io.err('pnpm demo needs an admin key: SIGNALBOX_API_KEYS has none');
    return 2;
  }
  try {
    const s = await runDemo({ url, key: admin.secret }, demoCalls(io.now().getTime()));
    io.out(
      [
        `Demo loaded into ${url}: ${s.contacts} contacts, ${s.consent} consent records, ${s.events} events, ${s.messages} message requests.`,
        'The worker decides and sends them in the background (sandbox providers): a complaint holding a promo,',
        'payment reminders (one paid), a collections message waiting for review, five teams at one contact, an OTP.',
        `Open ${url}/admin/ and sign in with an admin key.`,
      ].join('\n'),
    );
    return 0;
  } catch (e) {
    if (!(e instanceof DemoError)) throw e;
    io.err(e.message);
    return e.message.startsWith('Signalbox does not answer') ? 2 : 1;
  }
}

const isMain = process.argv[1] !== undefined && resolve(process.argv[1]).endsWith('cli/demo.ts');
if (isMain) {
  try {
    const config = loadConfig();
    process.exitCode = await demoCommand({
      out: (s) => process.stdout.write(`${s}\n`),
      err: (s) => process.stderr.write(`${s}\n`),
      config,
      now: () => new Date(),
    });
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    process.stderr.write(`${e.message}\n`);
    process.exitCode = 2;
  }
}
