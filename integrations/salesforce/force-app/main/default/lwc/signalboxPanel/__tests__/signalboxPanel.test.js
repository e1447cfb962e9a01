import { createElement } from '@lwc/engine-dom';
import getPanel from '@salesforce/apex/SignalboxPanelController.getPanel';
import send from '@salesforce/apex/SignalboxPanelController.send';
import SignalboxPanel from 'c/signalboxPanel';

// @salesforce/apex modules exist only inside Salesforce: the documented virtual mock (the one
// module mock our rules allow). The payloads are the server's, from fixtures/.
jest.mock('@salesforce/apex/SignalboxPanelController.getPanel', () => ({ default: jest.fn() }), { virtual: true });
jest.mock('@salesforce/apex/SignalboxPanelController.send', () => ({ default: jest.fn() }), { virtual: true });

const fixture = (name) => JSON.stringify(require(`../../../../../../fixtures/${name}.json`));
const RECORD_ID = '0035g00000PQRSTAAQ';
// a UUID, or 32 hex digits where the browser has no crypto.randomUUID
const KEY = /^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{32})$/;
const flush = () => new Promise((resolve) => setTimeout(resolve, 0));

function mount() {
  const el = createElement('c-signalbox-panel', { is: SignalboxPanel });
  el.recordId = RECORD_ID;
  el.objectApiName = 'Contact';
  document.body.appendChild(el);
  return el;
}
const $ = (el, id) => el.shadowRoot.querySelector(`[data-id="${id}"]`);
const change = (node, value) => {
  node.value = value;
  node.dispatchEvent(new CustomEvent('change', { detail: { value } }));
};

afterEach(() => {
  while (document.body.firstChild) document.body.removeChild(document.body.firstChild);
  jest.clearAllMocks();
});

describe('c-signalbox-panel', () => {
  it('shows a spinner while the agent view loads, then the view', async () => {
    let answer;
    getPanel.mockReturnValue(new Promise((resolve) => (answer = resolve)));
    const el = mount();
    await flush();
    expect($(el, 'spinner')).not.toBeNull();
    expect($(el, 'summary')).toBeNull();
    expect(getPanel).toHaveBeenCalledWith({ recordId: RECORD_ID });
    answer(fixture('agent-view'));
    await flush();
    expect($(el, 'spinner')).toBeNull();
    expect($(el, 'summary').textContent).toBe(
      'Did: ticket.opened 25 min ago (Mon 23 Nov, 10:00 Africa/Nairobi); invoice.overdue 25 min ago (Mon 23 Nov, 10:00 Africa/Nairobi). Sent 2 messages in the last 7 days; last technician_visit by sms (read) 5 min ago (Mon 23 Nov, 10:20 Africa/Nairobi). Next: payment-reminder in 3 days (Thu 26 Nov, 10:00 Africa/Nairobi). In payment-reminder. No marketing consent.',
    );
    expect($(el, 'timeline').querySelectorAll('li')).toHaveLength(5);
    expect($(el, 'timeline').textContent).toContain('payment_reminder_friendly · sms · read');
    expect($(el, 'timeline').textContent).toContain('ticket.opened');
    const rows = [...$(el, 'consent').querySelectorAll('tbody tr')].map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent));
    expect(rows).toHaveLength(7);
    expect(rows[0]).toEqual(['sms', 'revoked', 'granted', 'granted']);
    // HasOptedOutOfEmail: no marketing or service e-mail; transactional still flows
    expect(rows[6]).toEqual(['email', 'revoked', 'revoked', 'granted']);
    expect($(el, 'journeys').textContent).toContain('payment-reminder');
    expect($(el, 'journeys').querySelector('li.next').textContent).toMatch(/ · payment-reminder$/);
    expect($(el, 'decisions').textContent).toContain('suppressed: support ticket open; rules: open-ticket-no-promo');
    expect([...$(el, 'budget').querySelectorAll('li')].map((li) => li.textContent)).toEqual([
      'promo-daily: 0 of 1 per day used, 1 left',
      'promo-weekly: 0 of 3 per week used, 3 left',
    ]);
  });

  it('shows an empty contact plainly, and a record Signalbox does not know', async () => {
    getPanel.mockResolvedValue(fixture('agent-view-empty'));
    const el = mount();
    await flush();
    expect($(el, 'summary').textContent).toBe(
      'Did nothing we know of in the last 90 days. Sent nothing in the last 7 days. Nothing scheduled. In no journey. No marketing consent.',
    );
    expect($(el, 'timeline-empty')).not.toBeNull();
    // the ruleset's defaults: marketing is opt-in, service and transactional flow
    expect($(el, 'consent').querySelectorAll('tbody tr')).toHaveLength(7);
    expect($(el, 'decisions')).toBeNull();
    expect($(el, 'journeys')).toBeNull();
    document.body.removeChild(el);

    getPanel.mockResolvedValue(fixture('contact-not-found'));
    const unknown = mount();
    await flush();
    expect($(unknown, 'not-found')).not.toBeNull();
    expect($(unknown, 'summary')).toBeNull();
  });

  it('shows a refusal with its reason', async () => {
    getPanel.mockResolvedValue(fixture('agent-view'));
    send.mockResolvedValue(fixture('send-suppressed'));
    const el = mount();
    await flush();
    expect($(el, 'send').disabled).toBe(true); // no template yet
    change($(el, 'message-type'), 'promotional');
    change($(el, 'template'), 'black_friday');
    change($(el, 'purpose'), 'marketing');
    await flush();
    $(el, 'send').click();
    await flush();
    expect(send).toHaveBeenCalledWith({
      recordId: RECORD_ID,
      messageType: 'promotional',
      template: 'black_friday',
      purpose: 'marketing',
      idempotencyKey: expect.stringMatching(KEY),
    });
    const result = $(el, 'result');
    expect(result.className).toContain('refused');
    expect(result.querySelector('p').textContent).toBe(
      'Not sent (suppressed): suppressed: support ticket open; rules: open-ticket-no-promo',
    );
    expect([...result.querySelectorAll('li')].map((li) => li.textContent)).toEqual([
      'No promotional message while a support ticket is open.',
      'support ticket open',
    ]);
    expect(getPanel).toHaveBeenCalledTimes(2); // the view is read again after a send
  });

  it('shows a send result, and an error from Apex as its message', async () => {
    getPanel.mockResolvedValue(fixture('agent-view'));
    send.mockResolvedValue(fixture('send-queued'));
    const el = mount();
    await flush();
    change($(el, 'template'), 'invoice_firm');
    await flush();
    $(el, 'send').click();
    await flush();
    expect(send).toHaveBeenCalledWith({
      recordId: RECORD_ID,
      messageType: 'transactional',
      template: 'invoice_firm',
      purpose: null,
      idempotencyKey: expect.stringMatching(KEY),
    });
    expect($(el, 'result').className).toContain('queued');
    expect($(el, 'result').querySelector('p').textContent).toMatch(/^Queued on sms for /);
    expect([...$(el, 'result').querySelectorAll('li')].map((li) => li.textContent)).toEqual([
      'Service: WhatsApp (or an equivalent messenger) first, SMS fallback.',
      'whatsapp: contact is not known to be whatsapp-capable',
      'viber: contact is not known to be viber-capable',
    ]);

    send.mockRejectedValue({ body: { message: 'Signalbox answered 422: template is not in the ruleset' } });
    $(el, 'send').click();
    await flush();
    expect($(el, 'send-error').textContent).toBe('Signalbox answered 422: template is not in the ruleset');
    expect($(el, 'result')).toBeNull();
  });

  it('a double click sends once; a failed send is retried with its key, an answered or changed one takes a new key', async () => {
    getPanel.mockResolvedValue(fixture('agent-view'));
    let fail = () => undefined;
    send.mockReturnValueOnce(new Promise((_resolve, reject) => (fail = reject)));
    const el = mount();
    await flush();
    change($(el, 'template'), 'invoice_firm');
    await flush();
    $(el, 'send').click();
    $(el, 'send').click();
    await flush();
    expect(send).toHaveBeenCalledTimes(1);
    // the callout timed out: Signalbox may have the message, so the retry is the same send
    fail({ body: { message: 'Read timed out' } });
    await flush();
    expect($(el, 'send-error').textContent).toBe('Read timed out');
    send.mockResolvedValue(fixture('send-queued'));
    $(el, 'send').click();
    await flush();
    // answered: the next click is another send; another template is another send too
    $(el, 'send').click();
    await flush();
    change($(el, 'template'), 'invoice_final');
    await flush();
    $(el, 'send').click();
    await flush();
    const keys = send.mock.calls.map(([args]) => args.idempotencyKey);
    expect(keys).toHaveLength(4);
    for (const k of keys) expect(k).toMatch(KEY);
    expect(keys[1]).toBe(keys[0]);
    expect(new Set(keys).size).toBe(3);
  });

  it('shows an error when the panel cannot be loaded', async () => {
    getPanel.mockRejectedValue({ body: { message: 'Signalbox answered 401' } });
    const el = mount();
    await flush();
    expect($(el, 'error').textContent).toBe('Signalbox answered 401');
    expect($(el, 'summary')).toBeNull();
  });
});
