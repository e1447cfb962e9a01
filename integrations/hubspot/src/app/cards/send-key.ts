/**
 * The idempotency key of one send from the card. A click of Send takes a key; the key is kept while
 * the send has no answer (a timeout, a network error, a 5xx from HubSpot's proxy or from Signalbox),
 * so the agent's retry is the same send and Signalbox answers with the first message instead of
 * making a second. An answer (2xx, or a 4xx refusal that made nothing) ends the key; a change of
 * what is being sent takes a new one.
 */
export class SendKeys {
  private held: { form: string; key: string } | null = null;

  /** The key for a send of `form` (what is sent, as text): the held one if it is the same send. */
  for(form: string): string {
    if (this.held === null || this.held.form !== form) this.held = { form, key: newKey() };
    return this.held.key;
  }

  /** The send had an answer with this HTTP status: a 5xx leaves it open to a retry. */
  answered(status: number): void {
    if (status < 500) this.held = null;
  }
}

function newKey(): string {
  const c = globalThis.crypto;
  if (typeof c?.randomUUID === 'function') return c.randomUUID();
  const bytes = new Uint8Array(16);
  if (typeof c?.getRandomValues === 'function') c.getRandomValues(bytes);
  else for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(Math.random() * 256);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}
