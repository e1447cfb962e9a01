import type { CompiledRuleset, MessageRequest } from '@signalbox/engine';
import { needsObject } from '../content/template-check.js';
import { AppError } from '../errors.js';

/**
 * A request's template, checked at the door against the active ruleset: a name the ruleset does
 * not declare, or a declared template without the variables it requires of every request, is
 * refused (422) with the path at fault (as is a request whose type is not the template's), instead of being accepted and then sent as the template's
 * name in words (or failing hours later, after its fallbacks). `base` locates the message in the
 * body (`/message` for the API, `` for the CRM surfaces).
 */
export function assertTemplateUsable(
  rs: CompiledRuleset,
  request: Pick<MessageRequest, 'template' | 'variables'> & Partial<Pick<MessageRequest, 'type' | 'object'>>,
  base: string,
  /** Where the request's message type sits, when not at `${base}/type` (the card and panel call it `messageType`). */
  typeAt = `${base}/type`,
  /** The CRM object comes with the request some other way (the preview's snapshot). */
  objectGiven = false,
): void {
  const name = request.template;
  if (name === undefined || name === null) return;
  const templates = rs.source.templates;
  if (!Object.hasOwn(templates, name)) {
    const known = Object.keys(templates).sort();
    const some = known.slice(0, 12).join(', ') + (known.length > 12 ? ', …' : '');
    throw new AppError(422, 'TEMPLATE_UNKNOWN', `template "${name}" is not in the active ruleset (${rs.version})`, [
      {
        path: `${base}/template`,
        message: known.length > 0 ? `not a template of the ruleset (it has: ${some})` : 'the ruleset declares no templates',
      },
    ]);
  }
  const template = templates[name];
  // a template is written for one type of message: an OTP's text sent as a promotion (counted,
  // consented and timed as one) is a mistake in the request, not a new kind of message
  if (template !== undefined && request.type !== undefined && request.type !== template.messageType)
    throw new AppError(422, 'TEMPLATE_TYPE_MISMATCH', `template "${name}" is for ${template.messageType} messages, not ${request.type}`, [
      { path: typeAt, message: `must be ${template.messageType}, the template's message type` },
    ]);
  // content that shows the CRM object (an invoice's id, an appointment's link) has nothing to show
  // without one: every step would fail at send ("undefined variable: object") after a 202
  if (template !== undefined && request.object === undefined && !objectGiven && needsObject(template))
    throw new AppError(
      422,
      'TEMPLATE_VARIABLES_MISSING',
      `template "${name}" shows the CRM object it is about: name it (object: {type, id})`,
      [{ path: `${base}/object`, message: 'required by the template (its content shows object)' }],
    );
  const given = request.variables ?? {};
  const missing = (template?.variables ?? []).filter((v) => given[v] === undefined);
  if (missing.length > 0)
    throw new AppError(
      422,
      'TEMPLATE_VARIABLES_MISSING',
      `template "${name}" needs ${missing.length > 1 ? 'variables' : 'variable'} ${missing.join(', ')}`,
      missing.map((v) => ({
        path: `${base}/variables/${v.replace(/~/g, '~0').replace(/\//g, '~1')}`,
        message: 'required by the template',
      })),
    );
}

/**
 * What the request leaves out, its template says: whether the content is rich, the category, the
 * purpose and the topic the ruleset declares for it (as a journey's step takes them). What the
 * request says wins. Without this, a template declared rich went to RCS as plain text unless the
 * request also said `rich: true`.
 */
export function withTemplateDefaults(rs: CompiledRuleset, request: MessageRequest): MessageRequest {
  const name = request.template;
  if (name === undefined || !Object.hasOwn(rs.source.templates, name)) return request;
  const t = rs.source.templates[name];
  if (t === undefined) return request;
  const out: MessageRequest = { ...request };
  if (out.rich === undefined && t.rich === true) out.rich = true;
  if (out.category === undefined && t.category !== undefined) out.category = t.category;
  if (out.purpose === undefined && t.purpose !== undefined) out.purpose = t.purpose;
  if (out.topic === undefined && t.topic !== undefined) out.topic = t.topic;
  return out;
}
