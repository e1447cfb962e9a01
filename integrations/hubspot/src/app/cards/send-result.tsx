/** What came of a send from the card: where it is going, or why it is not, in the policy's words. */
import { Alert, List, Text } from '@hubspot/ui-extensions';
import { reasonLine, type SendAnswer, utc } from './agent-view.js';

export type Sent = { state: 'answered'; answer: SendAnswer } | { state: 'refused'; problem: string };

function headline(a: SendAnswer): { title: string; variant: 'success' | 'warning' | 'info' } {
  if (a.status === 'suppressed') return { title: 'Not sent', variant: 'warning' };
  if (a.status === 'review') return { title: 'Held for review', variant: 'info' };
  if (a.outcome === 'defer') return { title: `Scheduled on ${a.channel ?? '—'}`, variant: 'info' };
  return { title: `Going by ${a.channel ?? '—'}`, variant: 'success' };
}

export function SendResult({ sent }: { sent: Sent }) {
  if (sent.state === 'refused')
    return (
      <Alert title="Signalbox did not take the message" variant="error">
        {sent.problem}
      </Alert>
    );
  const a = sent.answer;
  const { title, variant } = headline(a);
  return (
    <Alert title={title} variant={variant}>
      <Text>
        {a.reason}
        {a.sendAt && a.status === 'queued' ? ` · at ${utc(a.sendAt)} UTC` : ''}
      </Text>
      {/* why it is not going now: the refusal, the review, the wait */}
      {(a.status !== 'queued' || a.outcome === 'defer') && a.reasons.length > 0 && (
        <List variant="unordered">
          {a.reasons.map((r, i) => (
            // biome-ignore lint/suspicious/noArrayIndexKey: entries have no id and may repeat (same instant, same title); each load replaces the list whole
            <Text key={i}>{reasonLine(r)}</Text>
          ))}
        </List>
      )}
    </Alert>
  );
}
