import type { ProviderOutcome, Receipt } from '@signalbox/engine';
import type { Request } from 'express';
import { AuthError } from '../../../errors.js';
import type { Inbound } from '../../../inbound/inbound.js';
import type { HotWrites } from '../../../inbox/hot-writes.js';
import type { Logger } from '../../../logger.js';
import { field, formBody } from '../../../providers/form-body.js';
import { callbackOutcome, callReceipt, messageReceipt } from '../../../providers/twilio/twilio-errors.js';
import { TWILIO_SIGNATURE_HEADER, validTwilioSignature } from '../../../providers/twilio/twilio-signature.js';
import type { ReplayGuard } from '../../../security/replay-guard.js';
import type { RouteSpec } from '../../route-table.js';

export interface TwilioHookDeps {
  name: string;
  authToken: string;
  /** The public base URL Twilio calls (the signature covers the full URL). */
  publicUrl: () => string;
  writes: HotWrites;
  inbound: () => Inbound;
  log: Logger;
  now: () => number;
  nudge: () => void;
  /** Signed requests seen recently (a status callback is applied once: Twilio signs no time). */
  replay: ReplayGuard;
  /** What a callback's error code says about the recipient, applied to the attempt's contact. */
  outcome: (provider: string, providerMessageId: string, outcome: ProviderOutcome, error: string) => Promise<void>;
}

const SID = /^[A-Z]{2}[0-9a-f]{32}$/;
const EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>';
/** Twilio Advanced Opt-Out's `OptOutType` values. */
const OPT_OUT: Readonly<Record<string, 'stop' | 'start' | 'help'>> = { STOP: 'stop', START: 'start', HELP: 'help' };

/**
 * Twilio's webhooks: message and call status callbacks become receipts; inbound messages (SMS
 * and WhatsApp: keywords, replies, button payloads) go into the same inbound path as every
 * provider's. Each request must carry a valid X-Twilio-Signature for the URL Twilio called.
 */
export function twilioHookRoutes(d: TwilioHookDeps): RouteSpec[] {
  const verified = (req: Request): URLSearchParams => {
    const params = formBody(req);
    const url = `${d.publicUrl().replace(/\/$/, '')}${req.originalUrl}`;
    if (!validTwilioSignature(d.authToken, req.get(TWILIO_SIGNATURE_HEADER), url, params)) {
      d.log.warn({ provider: d.name, path: req.path }, 'twilio hook refused: signature');
      throw new AuthError(401, 'SIGNATURE_INVALID', 'X-Twilio-Signature missing or not valid for this URL and body');
    }
    return params;
  };
  const receipt = async (provider: string, r: Receipt) => {
    await d.writes.receipts(provider, [r]);
  };
  const at = () => new Date(d.now()).toISOString();
  /**
   * The same status of the same message or call again (Twilio's retry, or the request sent again: its
   * signature has no time, and a receipt timed on arrival would count as another one).
   */
  const seenBefore = async (kind: string, sid: string, status: string) =>
    !(await d.replay.firstUse(`${d.name}:${kind}`, `${sid}:${status}`, d.now()));
  return [
    {
      method: 'post',
      path: '/hooks/twilio/status',
      summary: "Twilio's message status callback (delivered, read, undelivered, failed become receipts)",
      tags: ['providers'],
      security: 'twilioSignature',
      rawBody: { limit: 64 * 1024 },
      responses: { 204: 'taken (statuses on the way, such as queued or sent, change nothing)' },
      handler: async (req, res) => {
        const p = verified(req);
        const sid = field(p, 'MessageSid', SID);
        const raw = field(p, 'MessageStatus');
        if (await seenBefore('message-status', sid, raw)) {
          res.status(204).end();
          return;
        }
        const status = messageReceipt(raw);
        const failed = status === 'failed' || status === 'undelivered';
        const code = failed ? p.get('ErrorCode') || null : null;
        const o = callbackOutcome(code);
        // the attempt says why it failed (Twilio's code), as a send refused at once does
        const error = code === null ? undefined : `twilio ${code.slice(0, 10)}${o === null ? '' : `: ${o.meaning}`}`;
        if (status !== null) await receipt(d.name, { providerMessageId: sid, status, at: at(), ...(error !== undefined ? { error } : {}) });
        if (failed) {
          d.log.info({ provider: d.name, errorCode: code, status }, 'twilio message not delivered');
          if (o !== null) await d.outcome(d.name, sid, o.outcome, error as string);
        }
        res.status(204).end();
      },
    },
    {
      method: 'post',
      path: '/hooks/twilio/calls/status',
      summary: "Twilio's call status callback (answered by a person: delivered; machine, busy, no answer: undelivered)",
      tags: ['providers'],
      security: 'twilioSignature',
      rawBody: { limit: 64 * 1024 },
      responses: { 204: 'taken' },
      handler: async (req, res) => {
        const p = verified(req);
        const sid = field(p, 'CallSid', SID);
        const raw = field(p, 'CallStatus');
        if (await seenBefore('call-status', sid, raw)) {
          res.status(204).end();
          return;
        }
        const status = callReceipt(raw, p.get('AnsweredBy') ?? undefined);
        if (status !== null) await receipt(d.name, { providerMessageId: sid, status, at: at() });
        res.status(204).end();
      },
    },
    {
      method: 'post',
      path: '/hooks/twilio/inbound',
      summary: 'A message to one of our Twilio numbers (SMS or WhatsApp): keywords, replies, button payloads',
      tags: ['providers'],
      security: 'twilioSignature',
      rawBody: { limit: 64 * 1024 },
      responses: { 200: 'TwiML <Response/> (confirmations go out through the plan, not in the reply)' },
      produces: 'text/xml',
      handler: async (req, res) => {
        const p = verified(req);
        const sid = field(p, 'MessageSid', SID);
        const from = field(p, 'From');
        const whatsapp = from.startsWith('whatsapp:');
        const payload = p.get('ButtonPayload') ?? undefined;
        const text = p.get('Body') ?? undefined;
        // Advanced Opt-Out recognised a keyword (in the words and language configured at Twilio) and answered it
        const type = (p.get('OptOutType') ?? '').toUpperCase();
        const optOut = Object.hasOwn(OPT_OUT, type) ? OPT_OUT[type] : undefined;
        await d.inbound().receive(d.name, {
          id: sid,
          channel: whatsapp ? 'whatsapp' : 'sms',
          from: whatsapp ? from.slice('whatsapp:'.length) : from,
          ...(text !== undefined ? { text: text.slice(0, 4096) } : {}),
          ...(payload !== undefined ? { payload: payload.slice(0, 200) } : {}),
          ...(optOut !== undefined ? { optOut } : {}),
          at: at(),
        });
        d.nudge();
        res.status(200).type('text/xml').send(EMPTY_TWIML);
      },
    },
  ];
}
