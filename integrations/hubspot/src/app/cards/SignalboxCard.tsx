import { Alert, Button, EmptyState, Flex, Heading, hubspot, LoadingSpinner, Select, Text } from '@hubspot/ui-extensions';
import { useCallback, useEffect, useRef, useState } from 'react';
import { type AgentView, problemOf, type SendAnswer } from './agent-view.js';
import { SendKeys } from './send-key.js';
import { SendResult, type Sent } from './send-result.js';
import { Contact, Story } from './story.js';

/** Where Signalbox runs; it must be listed in app-hsmeta.json → permittedUrls.fetch. */
const SIGNALBOX = 'https://signalbox.example.com';

/** How the card reaches Signalbox: HubSpot's proxy (signed v3, with the user's context appended). */
export type CardFetch = typeof hubspot.fetch;

const MESSAGE_TYPES = [
  { label: 'Service', value: 'service' },
  { label: 'Transactional', value: 'transactional' },
  { label: 'Urgent', value: 'urgent' },
  { label: 'Promotional', value: 'promotional' },
];

type Load =
  | { state: 'loading' }
  | { state: 'ready'; view: AgentView }
  | { state: 'unknown-contact'; detail: string }
  | { state: 'failed'; message: string };

hubspot.extend<'crm.record.tab'>(({ context }) => <SignalboxCard objectId={String(context.crm.objectId)} hubspotFetch={hubspot.fetch} />);

/** Reads an answer's JSON, or nothing when it has none. */
const json = (res: Response): Promise<unknown> => res.json().catch(() => null);

/**
 * Signalbox on the contact record: the agent view (what happened, why, what comes next, what is
 * allowed) and a send through the same policy, whose answer says where the message goes or why not.
 */
export function SignalboxCard({ objectId, hubspotFetch }: { objectId: string; hubspotFetch: CardFetch }) {
  const [load, setLoad] = useState<Load>({ state: 'loading' });
  const [messageType, setMessageType] = useState('service');
  const [sending, setSending] = useState(false);
  const [sent, setSent] = useState<Sent | null>(null);
  // one key per send, kept until it is answered (see SendKeys); a second click while one is on its way does nothing
  const keys = useRef(new SendKeys());
  const inFlight = useRef(false);

  const refresh = useCallback(async () => {
    try {
      const res = await hubspotFetch(`${SIGNALBOX}/hubspot/card?objectId=${encodeURIComponent(objectId)}`, {
        method: 'GET',
        timeout: 10_000,
      });
      const body = await json(res);
      if (res.ok) return setLoad({ state: 'ready', view: body as AgentView });
      const problem = problemOf(body, res.status);
      // a contact HubSpot has and Signalbox does not (not synced yet) is not an outage
      setLoad(
        problem.code === 'CONTACT_NOT_FOUND'
          ? { state: 'unknown-contact', detail: problem.text }
          : { state: 'failed', message: problem.text },
      );
    } catch (e) {
      setLoad({ state: 'failed', message: (e as Error).message });
    }
  }, [objectId, hubspotFetch]);

  useEffect(() => {
    void refresh();
  }, [refresh]);

  const send = async () => {
    if (inFlight.current) return;
    inFlight.current = true;
    setSending(true);
    try {
      const idempotencyKey = keys.current.for(JSON.stringify([objectId, messageType]));
      const res = await hubspotFetch(`${SIGNALBOX}/hubspot/card/send`, {
        method: 'POST',
        timeout: 10_000,
        body: { objectId, messageType, idempotencyKey },
      });
      keys.current.answered(res.status);
      const body = await json(res);
      if (!res.ok) {
        setSent({ state: 'refused', problem: problemOf(body, res.status).text });
        return;
      }
      setSent({ state: 'answered', answer: body as SendAnswer });
      await refresh();
    } catch (e) {
      setSent({ state: 'refused', problem: (e as Error).message });
    } finally {
      inFlight.current = false;
      setSending(false);
    }
  };

  if (load.state === 'loading') return <LoadingSpinner label="Loading the contact's story" />;
  if (load.state === 'failed')
    return (
      <Alert title="Signalbox is not reachable" variant="error">
        {load.message}
      </Alert>
    );
  if (load.state === 'unknown-contact')
    return (
      <EmptyState title="Not in Signalbox yet" layout="vertical">
        <Text>Signalbox has no record of this contact yet: it arrives with the next sync or the first event about it.</Text>
        <Text variant="microcopy">{load.detail}</Text>
      </EmptyState>
    );

  const view = load.view;
  return (
    <Flex direction="column" gap="small">
      <Text format={{ fontWeight: 'bold' }}>{view.summary}</Text>
      <Contact contact={view.contact} />

      <Heading>Send through the policy</Heading>
      <Flex direction="row" gap="small" align="end">
        <Select
          label="Message type"
          name="messageType"
          value={messageType}
          options={MESSAGE_TYPES}
          onChange={(v) => setMessageType(String(v))}
        />
        <Button onClick={() => void send()} disabled={sending}>
          {sending ? 'Deciding…' : 'Send'}
        </Button>
      </Flex>
      {sent !== null && <SendResult sent={sent} />}

      <Story view={view} />
    </Flex>
  );
}
