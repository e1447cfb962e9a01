import type { ConsentRecord } from '@signalbox/engine';
import { demoContacts } from './demo-contacts.js';

/** One call the demo makes on the API (what a CRM or an integration would send). */
export type DemoCall =
  | { kind: 'import'; body: unknown[]; consent: ConsentRecord[][] }
  | { kind: 'event'; body: Record<string, unknown> }
  | { kind: 'message'; key: string; body: Record<string, unknown> };

const MIN = 60_000;

/**
 * The demo's calls, in order: the demo contacts imported, then the stories of SCENARIOS.md the
 * default ruleset tells, on some of them — a promo after a complaint (2), payment reminders, one
 * paid (3), an account issue flagged urgent (10), a collections message to a vulnerable contact held for review (14), five teams at one
 * contact (11), an OTP (12), and service and promotional traffic for the reports. Events carry
 * ids and messages Idempotency-Keys, consent is recorded for contacts the import created: a
 * second run adds nothing.
 */
export function demoCalls(now: number): DemoCall[] {
  const contacts = demoContacts(now);
  const calls: DemoCall[] = [];
  for (let i = 0; i < contacts.length; i += 100)
    calls.push({
      kind: 'import',
      body: contacts.slice(i, i + 100).map((c) => ({ identities: c.identities, ...c.fields })),
      consent: contacts.slice(i, i + 100).map((c) => c.consent),
    });
  const ref = (k: number) => ({ identities: [contacts[k]?.identities[0]] });
  const at = (minutesAgo: number) => new Date(now - minutesAgo * MIN).toISOString();
  const event = (id: string, type: string, k: number, minutesAgo: number, object?: { type: string; id: string }, data?: object) =>
    calls.push({
      kind: 'event',
      body: {
        id: `demo-${id}`,
        type,
        occurredAt: at(minutesAgo),
        contact: ref(k),
        ...(object ? { object } : {}),
        ...(data ? { data } : {}),
      },
    });
  const message = (key: string, k: number, message: Record<string, unknown>) =>
    calls.push({ kind: 'message', key: `demo-${key}`, body: { contact: ref(k), message } });

  // 2. promo after a complaint: held while the ticket is open and while the complaint cools off
  event('complaint-0', 'complaint.filed', 0, 30);
  event('ticket-0-opened', 'ticket.opened', 0, 30, { type: 'ticket', id: 'DEMO-T-0' });
  message('promo-after-complaint', 0, { type: 'promotional', team: 'marketing', workflow: 'black-friday' });
  // 3. payment reminders on overdue invoices; the first is paid, which cancels what is left
  for (const k of [1, 2, 3, 4, 5])
    event(`invoice-${k}-overdue`, 'invoice.overdue', k, 20, { type: 'invoice', id: `DEMO-INV-${k}` }, { amount: 40 + k });
  event('invoice-1-paid', 'invoice.paid', 1, 5, { type: 'invoice', id: 'DEMO-INV-1' });
  // 10. an account issue: its first message went, then it was flagged urgent: the call and its SMS follow-up
  event('account-issue-8-opened', 'account.issue_opened', 8, 25, { type: 'account_issue', id: 'DEMO-AI-8' }, { summary: 'a blocked card' });
  event('account-issue-8-urgent', 'account.issue_urgent', 8, 10, { type: 'account_issue', id: 'DEMO-AI-8' });
  // 14. a collections message to a vulnerable contact waits for a person
  message('collections-vulnerable', 7, { type: 'transactional', category: 'collections', team: 'finance' });
  // 11. five teams at one contact on one day: the pressure budget lets the most important through
  for (const team of ['marketing', 'operations', 'support', 'regional', 'care'])
    message(`pressure-${team}`, 14, { type: team === 'marketing' ? 'promotional' : 'service', team });
  // 12. an OTP goes at once, whatever the hour
  message('otp', 21, { type: 'otp', team: 'security' });
  // traffic for the reports: service updates and a promotion over many markets and handsets
  for (let k = 28; k < 88; k++) message(`service-${k}`, k, { type: 'service', team: 'care', workflow: 'order-updates' });
  for (let k = 88; k < 148; k++) message(`promo-${k}`, k, { type: 'promotional', team: 'marketing', workflow: 'black-friday' });
  return calls;
}
