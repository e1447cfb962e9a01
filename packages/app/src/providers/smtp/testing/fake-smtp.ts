import type { AddressInfo } from 'node:net';
import { SMTPServer, type SMTPServerAddress } from 'smtp-server';

export interface CapturedMail {
  from: string | null;
  to: string[];
  /** The raw message as the relay received it (headers and body). */
  raw: string;
  header(name: string): string[];
}

/**
 * A local SMTP relay (smtp-server) that captures what it receives: the envelope and the raw
 * message. `rejectRecipients` refuses addresses at RCPT TO with 550 (user unknown), as a relay
 * refusing a dead mailbox does; `down` closes the door.
 */
export class FakeSmtp {
  readonly received: CapturedMail[] = [];
  rejectRecipients = new Set<string>();
  /** Answers every connection 421 (service not available), as a relay under maintenance does. */
  down = false;
  private server: SMTPServer;
  port = 0;

  constructor() {
    this.server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      hideDSN: false,
      logger: false,
      onConnect: (_session, cb) => {
        if (!this.down) return cb();
        const err = new Error('4.3.2 service not available, try later') as Error & { responseCode: number };
        err.responseCode = 421;
        cb(err);
      },
      onRcptTo: (address: SMTPServerAddress, _session, cb) => {
        if (!/^[^@\s]+@[^@\s]+$/.test(address.address)) {
          const err = new Error('5.1.3 bad recipient address syntax') as Error & { responseCode: number };
          err.responseCode = 553;
          cb(err);
          return;
        }
        if (this.rejectRecipients.has(address.address.toLowerCase())) {
          const err = new Error('5.1.1 user unknown') as Error & { responseCode: number };
          err.responseCode = 550;
          cb(err);
          return;
        }
        cb();
      },
      onData: (stream, session, cb) => {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          const raw = Buffer.concat(chunks).toString('utf8');
          const head = raw.split(/\r?\n\r?\n/)[0] ?? '';
          const lines = head.replace(/\r?\n[ \t]+/g, ' ').split(/\r?\n/);
          this.received.push({
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : null,
            to: session.envelope.rcptTo.map((r) => r.address),
            raw,
            header: (name) =>
              lines.filter((l) => l.toLowerCase().startsWith(`${name.toLowerCase()}:`)).map((l) => l.slice(name.length + 1).trim()),
          });
          cb();
        });
      },
    });
  }

  async start(): Promise<number> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', () => r()));
    this.port = (this.server.server.address() as AddressInfo).port;
    return this.port;
  }

  get url(): string {
    return `smtp://127.0.0.1:${this.port}`;
  }

  async stop(): Promise<void> {
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}
