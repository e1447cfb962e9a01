import {
  Alert,
  Button,
  Divider,
  Flex,
  Heading,
  hubspot,
  LoadingSpinner,
  Select,
  StatusTag,
  Table,
  TableBody,
  TableCell,
  TableHead,
  TableHeader,
  TableRow,
  Text,
} from '@hubspot/ui-extensions';
import { useCallback, useEffect, useState } from 'react';

/** Where Signalbox runs; it must be listed in app-hsmeta.json → permittedUrls.fetch. */
const SIGNALBOX = 'https://signalbox.example.com';

interface CardData {
  summary: string;
  timeline: Array<{ at: string; kind: 'message' | 'event'; title: string; cost?: number }>;
  consent: Array<{ channel: string; purposes: Record<string, 'granted' | 'revoked'> }>;
  journeys: Array<{ id: string; journey: string }>;
  next: Array<{ at: string; kind: string }>;
  decisions: Array<{ at: string; type: string; outcome: string; status: string; reason: string }>;
  budget: Array<{ cap: string; max: number; per: string; used: number; left: number }>;
}

interface SendResult {
  status: string;
  outcome: string;
  channel: string | null;
  sendAt: string | null;
  reason: string;
}

const MESSAGE_TYPES = [
  { label: 'Service', value: 'service' },
  { label: 'Transactional', value: 'transactional' },
  { label: 'Urgent', value: 'urgent' },
  { label: 'Promotional', value: 'promotional' },
];

hubspot.extend<'crm.record.tab'>(({ context }) => <SignalboxCard objectId={String(context.crm.objectId)} />);

function SignalboxCard({ objectId }: { objectId: string }) {
  const [data, setData] = useState<CardData | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [messageType, setMessageType] = useState('service');
  const [sending, setSending] = useState(false);
  const [result, setResult] = useState<SendResult | null>(null);

  const load = useCallback(async () => {
    try {
      // HubSpot signs the request (v3) and appends portalId and userId
      const res = await hubspot.fetch(`${SIGNALBOX}/hubspot/card?objectId=${encodeURIComponent(objectId)}`, {
        method: 'GET',
        timeout: 10_000,
      });
      if (!res.ok) throw new Error(`Signalbox answered ${res.status}`);
      setData((await res.json()) as CardData);
      setError(null);
    } catch (e) {
      setError((e as Error).message);
    }
  }, [objectId]);

  useEffect(() => {
    void load();
  }, [load]);

  const send = async () => {
    setSending(true);
    try {
      const res = await hubspot.fetch(`${SIGNALBOX}/hubspot/card/send`, {
        method: 'POST',
        timeout: 10_000,
        body: { objectId, messageType },
      });
      setResult((await res.json()) as SendResult);
      await load();
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setSending(false);
    }
  };

  if (error !== null && data === null)
    return (
      <Alert title="Signalbox is not reachable" variant="error">
        {error}
      </Alert>
    );
  if (data === null) return <LoadingSpinner label="Loading the contact's story" />;

  return (
    <Flex direction="column" gap="small">
      <Text format={{ fontWeight: 'bold' }}>{data.summary}</Text>

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
      {result !== null && (
        <Alert
          title={result.status === 'suppressed' ? 'Not sent' : `Going by ${result.channel ?? '—'}`}
          variant={result.status === 'suppressed' ? 'warning' : 'success'}
        >
          {result.reason}
          {result.sendAt ? ` · at ${result.sendAt}` : ''}
        </Alert>
      )}

      <Divider />
      <Heading>Timeline</Heading>
      <Table>
        <TableHead>
          <TableRow>
            <TableHeader>When</TableHeader>
            <TableHeader>What</TableHeader>
          </TableRow>
        </TableHead>
        <TableBody>
          {data.timeline.map((t) => (
            <TableRow key={`${t.at}-${t.title}`}>
              <TableCell>{t.at.slice(0, 16).replace('T', ' ')}</TableCell>
              <TableCell>{t.title}</TableCell>
            </TableRow>
          ))}
        </TableBody>
      </Table>

      <Heading>Last decisions</Heading>
      {data.decisions.map((d) => (
        <Text key={d.at}>
          <StatusTag variant={d.outcome === 'suppress' ? 'danger' : d.outcome === 'defer' ? 'warning' : 'success'}>{d.outcome}</StatusTag>{' '}
          {d.type}: {d.reason}
        </Text>
      ))}

      <Heading>Consent</Heading>
      {data.consent.map((c) => (
        <Text key={c.channel}>
          {c.channel}:{' '}
          {Object.entries(c.purposes)
            .map(([p, s]) => `${p} ${s === 'granted' ? '✓' : '✗'}`)
            .join(' · ')}
        </Text>
      ))}

      <Heading>Journeys and what comes next</Heading>
      {data.journeys.length === 0 ? <Text>No active journey.</Text> : data.journeys.map((j) => <Text key={j.id}>{j.journey}</Text>)}
      {data.next.map((n) => (
        <Text key={`${n.at}-${n.kind}`}>
          {n.kind} at {n.at.slice(0, 16).replace('T', ' ')} UTC
        </Text>
      ))}

      <Heading>Contact-pressure budget</Heading>
      {data.budget.map((b) => (
        <Text key={b.cap}>
          {b.cap}: {b.left} of {b.max} left this {b.per}
        </Text>
      ))}
    </Flex>
  );
}
