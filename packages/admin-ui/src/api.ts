/** Calls the app's own API with the session cookie; writes carry the CSRF token. */
export interface Session {
  name: string;
  role: 'admin' | 'agent';
  csrf: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: { code?: string; detail?: string; errors?: Array<{ path: string; message: string }> } & Record<string, unknown>,
  ) {
    super(body.detail ?? `HTTP ${status}`);
  }
}

let csrf = '';

export function setSession(s: Session | null): void {
  csrf = s?.csrf ?? '';
}

export async function api<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET') headers['x-csrf-token'] = csrf;
  const res = await fetch(path, {
    method,
    headers,
    credentials: 'same-origin',
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  const parsed = text === '' ? {} : (JSON.parse(text) as unknown);
  if (!res.ok) throw new ApiError(res.status, parsed as ApiError['body']);
  return parsed as T;
}
