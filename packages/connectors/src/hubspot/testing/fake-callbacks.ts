/**
 * Blocked custom-action executions, as HubSpot keeps them: each callback id was handed out with an
 * action call (or by a test), belongs to one portal, expires (HubSpot's default wait is a week) and
 * can be completed once, with output values the action definition declares.
 */
import { HsError } from './fake-errors.js';

/** An action definition's output fields, in the shape of the project's workflow-action `*-hsmeta.json` `config`. */
export interface FakeActionDefinition {
  outputFields?: ReadonlyArray<{ typeDefinition: { name: string; type: string; options?: ReadonlyArray<{ value: string }> } }>;
}

interface PendingCallback {
  portalId: number;
  definitionId: number | null;
  expiresAt: number;
  completedAt: number | null;
}

/** Execution states a completion may set (BLOCK is only an action's first answer). */
const COMPLETION_STATES = ['SUCCESS', 'FAIL_CONTINUE'];

export class FakeCallbacks {
  private readonly pending = new Map<string, PendingCallback>();
  private readonly definitions = new Map<number, FakeActionDefinition>();

  constructor(
    private readonly now: () => number,
    readonly ttlMs: number,
  ) {}

  define(definitionId: number, definition: FakeActionDefinition): void {
    this.definitions.set(definitionId, definition);
  }

  /** A callback id handed out with an action call; handing the same id out again keeps its state. */
  issue(portalId: number, callbackId: string, definitionId: number | null): void {
    if (!this.pending.has(callbackId))
      this.pending.set(callbackId, { portalId, definitionId, expiresAt: this.now() + this.ttlMs, completedAt: null });
  }

  expire(callbackId: string): void {
    const c = this.pending.get(callbackId);
    if (c === undefined) throw new Error(`no callback ${callbackId} was issued`);
    c.expiresAt = this.now();
  }

  /** Completes the execution or throws HubSpot's refusal; returns the output fields as stored. */
  complete(portalId: number, callbackId: string, body: Record<string, unknown>): Record<string, string> {
    const c = this.pending.get(callbackId);
    if (c === undefined || c.portalId !== portalId)
      throw new HsError(404, 'OBJECT_NOT_FOUND', `No callback found for callbackId ${callbackId}`);
    if (c.completedAt !== null) throw new HsError(400, 'VALIDATION_ERROR', `Callback ${callbackId} has already been completed`);
    if (c.expiresAt <= this.now()) throw new HsError(400, 'VALIDATION_ERROR', `Callback ${callbackId} has expired`);
    const raw = body.outputFields;
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
      throw new HsError(400, 'VALIDATION_ERROR', 'outputFields must be an object of strings', { context: { field: ['outputFields'] } });
    const outputs: Record<string, string> = {};
    for (const [k, v] of Object.entries(raw)) {
      if (typeof v !== 'string')
        throw new HsError(400, 'VALIDATION_ERROR', `Output field ${k} must be a string`, { context: { field: [k] } });
      outputs[k] = v;
    }
    const state = outputs.hs_execution_state;
    if (state !== undefined && !COMPLETION_STATES.includes(state))
      throw new HsError(400, 'VALIDATION_ERROR', `hs_execution_state ${state} is not one of ${COMPLETION_STATES.join(', ')}`, {
        context: { field: ['hs_execution_state'] },
      });
    const fields = c.definitionId === null ? undefined : this.definitions.get(c.definitionId)?.outputFields;
    if (fields !== undefined) {
      for (const [k, v] of Object.entries(outputs)) {
        if (k === 'hs_execution_state') continue;
        const f = fields.find((x) => x.typeDefinition.name === k)?.typeDefinition;
        if (f === undefined)
          throw new HsError(400, 'VALIDATION_ERROR', `Output field ${k} is not declared by the action definition`, {
            context: { field: [k] },
          });
        if (f.type === 'enumeration' && f.options && v !== '' && !f.options.some((o) => o.value === v))
          throw new HsError(
            400,
            'VALIDATION_ERROR',
            `Output field ${k}: "${v}" is not one of the declared options (${f.options.map((o) => o.value).join(', ')})`,
            { context: { field: [k] } },
          );
        if (f.type === 'number' && v !== '' && !Number.isFinite(Number(v)))
          throw new HsError(400, 'VALIDATION_ERROR', `Output field ${k}: "${v}" is not a number`, { context: { field: [k] } });
      }
    }
    c.completedAt = this.now();
    return outputs;
  }
}
