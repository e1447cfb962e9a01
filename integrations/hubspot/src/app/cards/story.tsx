/**
 * The contact's story as the agent view tells it: who the contact is to Signalbox, every message
 * and event, consent per channel and purpose, journeys and what is next, the last decisions with
 * the reasons behind them, and the contact-pressure budget.
 */
import {
  DescriptionList,
  DescriptionListItem,
  Divider,
  Flex,
  Heading,
  List,
  StatusTag,
  Table,
  TableBody,
  TableCell,
  TableHead,
  TableHeader,
  TableRow,
  Text,
} from '@hubspot/ui-extensions';
import { type AgentView, reasonLine, utc } from './agent-view.js';

const OUTCOME_TAG: Record<string, 'danger' | 'warning' | 'info' | 'success'> = {
  suppress: 'danger',
  defer: 'warning',
  review: 'info',
  send: 'success',
};

export function Contact({ contact }: { contact: AgentView['contact'] }) {
  return (
    <DescriptionList direction="row">
      <DescriptionListItem label="Time zone">
        <Text>{contact.timezone ?? 'not known'}</Text>
      </DescriptionListItem>
      <DescriptionListItem label="Market">
        <Text>{contact.market ?? 'not known'}</Text>
      </DescriptionListItem>
      <DescriptionListItem label="Known by">
        <Text>{contact.channels.join(', ')}</Text>
      </DescriptionListItem>
    </DescriptionList>
  );
}

export function Timeline({ timeline }: { timeline: AgentView['timeline'] }) {
  if (timeline.length === 0) return <Text>Nothing sent or received yet.</Text>;
  return (
    <Table>
      <TableHead>
        <TableRow>
          <TableHeader>When (UTC)</TableHeader>
          <TableHeader>What</TableHeader>
          <TableHeader>Cost</TableHeader>
        </TableRow>
      </TableHead>
      <TableBody>
        {timeline.map((t, i) => (
          // biome-ignore lint/suspicious/noArrayIndexKey: entries have no id and may repeat (same instant, same title); each load replaces the list whole
          <TableRow key={i} testId={`timeline-row-${i}`}>
            <TableCell>{utc(t.at)}</TableCell>
            <TableCell>{t.title}</TableCell>
            <TableCell>{t.kind === 'message' && t.cost !== undefined ? String(t.cost) : ''}</TableCell>
          </TableRow>
        ))}
      </TableBody>
    </Table>
  );
}

export function Decisions({ decisions }: { decisions: AgentView['decisions'] }) {
  if (decisions.length === 0) return <Text>No decision yet.</Text>;
  return (
    <>
      {decisions.map((d, i) => (
        // biome-ignore lint/suspicious/noArrayIndexKey: entries have no id and may repeat (same instant, same title); each load replaces the list whole
        <Flex key={i} direction="column" gap="extra-small">
          <Text>
            <StatusTag testId={`decision-outcome-${i}`} variant={OUTCOME_TAG[d.outcome] ?? 'default'}>
              {d.outcome}
            </StatusTag>{' '}
            {utc(d.at)} UTC · {d.type} · {d.status}: {d.reason}
          </Text>
          <List variant="unordered">
            {d.reasons.map((r, j) => (
              // biome-ignore lint/suspicious/noArrayIndexKey: entries have no id and may repeat (same instant, same title); each load replaces the list whole
              <Text key={j} variant="microcopy">
                {reasonLine(r)}
              </Text>
            ))}
          </List>
        </Flex>
      ))}
    </>
  );
}

export function Consent({ consent }: { consent: AgentView['consent'] }) {
  const purposes = Object.keys(consent[0]?.purposes ?? {});
  return (
    <Table>
      <TableHead>
        <TableRow>
          <TableHeader>Channel</TableHeader>
          {purposes.map((p) => (
            <TableHeader key={p}>{p}</TableHeader>
          ))}
        </TableRow>
      </TableHead>
      <TableBody>
        {consent.map((c) => (
          <TableRow key={c.channel} testId={`consent-row-${c.channel}`}>
            <TableCell>{c.channel}</TableCell>
            {Object.entries(c.purposes).map(([p, s]) => (
              <TableCell key={p}>
                <StatusTag variant={s === 'granted' ? 'success' : 'danger'}>{s}</StatusTag>
              </TableCell>
            ))}
          </TableRow>
        ))}
      </TableBody>
    </Table>
  );
}

export function JourneysAndNext({ journeys, next }: { journeys: AgentView['journeys']; next: AgentView['next'] }) {
  return (
    <>
      {journeys.length === 0 ? <Text>No active journey.</Text> : journeys.map((j) => <Text key={j.id}>{j.journey}</Text>)}
      {next.length === 0 ? (
        <Text>Nothing scheduled.</Text>
      ) : (
        next.map((n, i) => (
          // biome-ignore lint/suspicious/noArrayIndexKey: entries have no id and may repeat (same instant, same title); each load replaces the list whole
          <Text key={i}>
            {n.label ? `${n.label}: ` : ''}
            {n.kind} at {utc(n.at)} UTC
            {n.heldBack ? ` (held back: ${n.heldBack})` : ''}
          </Text>
        ))
      )}
    </>
  );
}

export function Budget({ budget }: { budget: AgentView['budget'] }) {
  return (
    <>
      {budget.map((b) => (
        <Flex key={b.cap} direction="column" gap="flush">
          <Text format={{ fontWeight: 'demibold' }}>
            {b.cap}: {b.used} of {b.max} used this {b.per}, {b.left} left
          </Text>
          {b.description && <Text variant="microcopy">{b.description}</Text>}
        </Flex>
      ))}
    </>
  );
}

export function Story({ view }: { view: AgentView }) {
  return (
    <>
      <Divider />
      <Heading>Timeline</Heading>
      <Timeline timeline={view.timeline} />
      <Heading>Last decisions</Heading>
      <Decisions decisions={view.decisions} />
      <Heading>Consent</Heading>
      <Consent consent={view.consent} />
      <Heading>Journeys and what comes next</Heading>
      <JourneysAndNext journeys={view.journeys} next={view.next} />
      <Heading>Contact-pressure budget</Heading>
      <Budget budget={view.budget} />
    </>
  );
}
