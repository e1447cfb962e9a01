import getPanel from '@salesforce/apex/SignalboxPanelController.getPanel';
import send from '@salesforce/apex/SignalboxPanelController.send';
import { api, LightningElement } from 'lwc';

const MESSAGE_TYPES = ['transactional', 'service', 'rich', 'urgent', 'promotional', 'otp'];
const PURPOSES = ['marketing', 'service', 'transactional'];
const options = (values) => values.map((v) => ({ label: v, value: v }));

// Apex errors arrive as { body: { message } } (AuraHandledException) or as a plain Error.
const messageOf = (e) => e?.body?.message || e?.message || 'Signalbox could not be reached';
const when = (iso) => (iso ? new Date(iso).toLocaleString() : '');

// The idempotency key of one send: a retry after a failure (a callout that timed out) is the same
// send, which Signalbox answers with the first message instead of making a second.
function newKey() {
  const c = globalThis.crypto;
  if (c && typeof c.randomUUID === 'function') return c.randomUUID();
  const bytes = new Uint8Array(16);
  if (c && typeof c.getRandomValues === 'function') c.getRandomValues(bytes);
  else for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(Math.random() * 256);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

export default class SignalboxPanel extends LightningElement {
  @api recordId;
  @api objectApiName;

  loading = true;
  view = null;
  notFound = false;
  error = null;
  messageType = 'transactional';
  template = '';
  purpose = '';
  sending = false;
  result = null;
  sendError = null;
  // the key of the send not yet answered, and what it sends: kept until an answer, renewed when the form changes
  pending = null;

  messageTypeOptions = options(MESSAGE_TYPES);
  purposeOptions = [{ label: 'as the type implies', value: '' }, ...options(PURPOSES)];

  connectedCallback() {
    this.load();
  }

  async load() {
    this.loading = true;
    this.error = null;
    try {
      const body = JSON.parse(await getPanel({ recordId: this.recordId }));
      this.notFound = body.code === 'CONTACT_NOT_FOUND';
      this.view = this.notFound ? null : body;
    } catch (e) {
      this.error = messageOf(e);
    } finally {
      this.loading = false;
    }
  }

  get ready() {
    return !this.loading && !this.error && this.view !== null;
  }
  get summary() {
    return this.view ? this.view.summary : '';
  }
  get timeline() {
    return (this.view ? this.view.timeline : []).map((t, i) => ({
      key: `${i}-${t.at}`,
      when: when(t.at),
      kind: t.kind,
      title: t.title,
      cost: t.cost === undefined || t.cost === null ? '' : t.cost,
    }));
  }
  get hasTimeline() {
    return this.timeline.length > 0;
  }
  get consent() {
    return (this.view ? this.view.consent : []).map((c) => ({
      key: c.channel,
      channel: c.channel,
      marketing: c.purposes.marketing,
      service: c.purposes.service,
      transactional: c.purposes.transactional,
    }));
  }
  get hasConsent() {
    return this.consent.length > 0;
  }
  get journeys() {
    return (this.view ? this.view.journeys : []).map((j) => ({ key: j.id, name: j.journey }));
  }
  get next() {
    return (this.view ? this.view.next : []).map((n, i) => ({
      key: `${i}-${n.at}`,
      when: when(n.at),
      label: n.heldBack ? `${n.label || n.ref} (held back: ${n.heldBack})` : n.label || n.ref,
      kind: n.kind,
    }));
  }
  get hasPlans() {
    return this.journeys.length > 0 || this.next.length > 0;
  }
  get decisions() {
    return (this.view ? this.view.decisions : []).map((d, i) => ({
      key: `${i}-${d.at}`,
      when: when(d.at),
      type: d.type,
      status: d.status,
      reason: d.reason,
    }));
  }
  get hasDecisions() {
    return this.decisions.length > 0;
  }
  get budget() {
    return (this.view ? this.view.budget : []).map((b) => ({
      key: b.cap,
      cap: b.cap,
      text: `${b.used} of ${b.max} per ${b.per} used, ${b.left} left`,
      exhausted: b.left === 0,
    }));
  }
  get hasBudget() {
    return this.budget.length > 0;
  }

  handleChange(event) {
    const field = event.target.dataset.field;
    this[field] = event.detail?.value !== undefined ? event.detail.value : event.target.value;
  }

  get sendDisabled() {
    return this.sending || !this.template;
  }

  // A refusal (suppressed, review, deferred) is an answer, not an error: it shows with its reason.
  get refused() {
    return this.result !== null && this.result.status !== 'queued';
  }
  get resultText() {
    const r = this.result;
    if (r === null) return '';
    if (r.status === 'queued') return `Queued on ${r.channel}${r.sendAt ? ` for ${when(r.sendAt)}` : ''}`;
    return `Not sent (${r.status}): ${r.reason}`;
  }
  get resultClass() {
    return this.refused ? 'refused slds-text-color_error' : 'queued slds-text-color_success';
  }
  get resultReasons() {
    return (this.result ? this.result.reasons : []).map((x, i) => ({
      key: `${i}`,
      text: x.channel ? `${x.channel}: ${x.message}` : x.message,
    }));
  }

  async handleSend() {
    // a second click before the first has its answer does nothing
    if (this.sending) return;
    this.sending = true;
    this.result = null;
    this.sendError = null;
    const form = { recordId: this.recordId, messageType: this.messageType, template: this.template, purpose: this.purpose || null };
    const same = this.pending && JSON.stringify(this.pending.form) === JSON.stringify(form);
    if (!same) this.pending = { form, key: newKey() };
    try {
      this.result = JSON.parse(await send({ ...form, idempotencyKey: this.pending.key }));
      this.pending = null;
      await this.load();
    } catch (e) {
      this.sendError = messageOf(e);
    } finally {
      this.sending = false;
    }
  }
}
