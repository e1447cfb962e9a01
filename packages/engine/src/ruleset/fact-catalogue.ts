/**
 * Every fact path a condition may name. Rules are validated against this, so a typo in a path is
 * a load-time error rather than a rule that silently never fires.
 *
 * A node is a leaf type, OPEN (anything below is allowed: CRM attributes, object snapshots), or
 * an object of children; a `$channel` / `$messageType` / `$suppression` key stands for any
 * declared channel / message type (or `all`) / declared suppression name.
 */
export const OPEN = '*open*' as const;
export type FactLeaf = 'string' | 'number' | 'boolean' | 'array';
export type FactNode = FactLeaf | typeof OPEN | { [key: string]: FactNode };

const engagement: FactNode = {
  sent: 'number',
  delivered: 'number',
  read: 'number',
  replied: 'number',
  readRate: 'number',
  deliveryRate: 'number',
};

export const FACT_CATALOGUE: Record<string, FactNode> = {
  contact: {
    id: 'string',
    market: 'string',
    timezone: 'string',
    locale: 'string',
    smartphone: 'boolean',
    vulnerable: 'boolean',
    bestHour: 'number',
    tags: 'array',
    capabilities: { $any: 'boolean' },
    reachable: { $channel: 'boolean' },
    engagement: { $channel: engagement },
    attributes: OPEN,
  },
  message: {
    type: 'string',
    purpose: 'string',
    team: 'string',
    workflow: 'string',
    template: 'string',
    category: 'string',
    topic: 'string',
    priority: 'string',
    rich: 'boolean',
    journeyId: 'string',
    object: { type: 'string', id: 'string' },
    variables: OPEN,
  },
  local: { hour: 'number', minute: 'number', weekday: 'number', time: 'string', quiet: 'boolean' },
  history: { $messageType: { day: 'number', week: 'number' } },
  suppressions: { $suppression: OPEN },
  market: {
    code: 'string',
    name: 'string',
    timezone: 'string',
    featurePhone: 'boolean',
    primaryMessenger: 'string',
    messengers: 'array',
    channels: 'array',
  },
  consent: { $channel: { marketing: 'boolean', service: 'boolean', transactional: 'boolean' } },
  object: OPEN,
};

/** Facts a journey branch may read. */
export const JOURNEY_FACT_CATALOGUE: Record<string, FactNode> = {
  data: OPEN,
  event: { type: 'string', data: OPEN },
  journey: { id: 'string', stepsDone: 'number', sends: 'number' },
};

export interface CatalogueScope {
  channels: ReadonlySet<string>;
  messageTypes: ReadonlySet<string>;
  suppressions: ReadonlySet<string>;
}

/** Checks `fact` + `path` against the catalogue; returns an error message or null. */
export function checkFactPath(
  catalogue: Record<string, FactNode>,
  fact: string,
  path: string | undefined,
  scope: CatalogueScope,
): string | null {
  if (!Object.hasOwn(catalogue, fact)) return `unknown fact "${fact}" (known: ${Object.keys(catalogue).join(', ')})`;
  let node = catalogue[fact] as FactNode;
  if (path === undefined) {
    return typeof node === 'object' ? `fact "${fact}" needs a path (e.g. ${fact}.${Object.keys(node)[0]})` : null;
  }
  const malformed = malformedPath(path);
  if (malformed !== null) return malformed;
  const segments = path.split('.');
  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i] as string;
    if (node === OPEN) return null;
    if (typeof node !== 'object') return `path "${path}" goes below "${segments.slice(0, i).join('.')}", which is a ${node}`;
    if (seg === '') return `path "${path}" has an empty segment`;
    if (Object.hasOwn(node, seg) && !seg.startsWith('$')) {
      node = node[seg] as FactNode;
      continue;
    }
    const dynamic = dynamicChild(node, seg, scope);
    if (dynamic === undefined) {
      const choices = Object.keys(node)
        .map((k) => describeKey(k))
        .join(', ');
      return `unknown path "${fact}.${path}": "${seg}" is not one of ${choices}`;
    }
    node = dynamic;
  }
  if (node !== OPEN && typeof node === 'object') {
    return `path "${fact}.${path}" names an object; go down to a value (${Object.keys(node).map(describeKey).join(', ')})`;
  }
  return null;
}

/**
 * A path a condition may name is plain dot notation: `attributes.plan`, `object.items.0.sku`. Anything else
 * loads in json-rules-engine's default set-up (JSONPath) but never resolves here, so a rule copied from one
 * would silently never fire: refuse it, saying what to write instead. Checked under open branches too.
 */
function malformedPath(path: string): string | null {
  const dotted = path
    .replace(/^\$\.?/, '')
    .replace(/\[['"]?([^\]'"]*)['"]?\]/g, '.$1')
    .replace(/\.{2,}/g, '.')
    .replace(/^\.|\.$/g, '');
  const instead = dotted !== '' && dotted !== path ? ` (write "${dotted}")` : '';
  if (path === '') return 'the path is empty: leave "path" out to compare the whole fact, or name a property';
  if (path.startsWith('$')) return `path "${path}" is JSONPath; paths here are plain dot notation${instead}`;
  if (/[[\]]/.test(path)) return `path "${path}" uses brackets; name array items and properties with dots${instead}`;
  if (path.startsWith('.') || path.endsWith('.') || path.includes('..'))
    return `path "${path}" has an empty segment (a leading, trailing or doubled dot)${instead}`;
  if (/[*\s]/.test(path)) return `path "${path}" has a wildcard or a space; name one property per segment`;
  return null;
}

function dynamicChild(node: { [key: string]: FactNode }, seg: string, scope: CatalogueScope): FactNode | undefined {
  if (node.$any !== undefined) return node.$any;
  if (node.$channel !== undefined && scope.channels.has(seg)) return node.$channel;
  if (node.$messageType !== undefined && (scope.messageTypes.has(seg) || seg === 'all')) return node.$messageType;
  if (node.$suppression !== undefined && scope.suppressions.has(seg)) return node.$suppression;
  return undefined;
}

function describeKey(k: string): string {
  switch (k) {
    case '$channel':
      return '<declared channel>';
    case '$messageType':
      return '<message type or all>';
    case '$suppression':
      return '<declared suppression>';
    case '$any':
      return '<any name>';
    default:
      return k;
  }
}
