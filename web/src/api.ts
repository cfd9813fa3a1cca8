// The admin API of `callflow serve` (docs/ADMIN_API.md): the designer's only way to the server.
// The token lives in sessionStorage, so a closed tab signs out and two tabs may be two users.

export interface User {
  name: string;
  role: 'admin' | 'supervisor' | 'agent' | 'api';
}

export interface Problem {
  severity: 'error' | 'warning';
  element: string;
  key: string;
  message: string;
  text: string;
  line?: number;
  column?: number;
}

export class ApiError extends Error {
  constructor(
    public status: number,
    message: string,
    public problems: Problem[] = [],
  ) {
    super(message);
  }
}

const TOKEN_KEY = 'callflow.token';
const USER_KEY = 'callflow.user';

export function savedSession(): { token: string; user: User } | null {
  const token = sessionStorage.getItem(TOKEN_KEY);
  const user = sessionStorage.getItem(USER_KEY);
  if (!token || !user) return null;
  try {
    return { token, user: JSON.parse(user) as User };
  } catch {
    return null;
  }
}

let onSignedOut: () => void = () => {};
export function setSignedOutHandler(handler: () => void) {
  onSignedOut = handler;
}

export function signOut() {
  sessionStorage.removeItem(TOKEN_KEY);
  sessionStorage.removeItem(USER_KEY);
}

export async function signIn(username: string, password: string): Promise<User> {
  const response = await fetch('/api/v1/auth/token', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    const message =
      response.status === 401
        ? 'Wrong username or password.'
        : (body?.error?.message ?? `Sign-in failed (${response.status}).`);
    throw new ApiError(response.status, message);
  }
  if (body.user.role === 'api') {
    throw new ApiError(403, 'The api role is for the Lead Web API; sign in as an admin, supervisor or agent.');
  }
  sessionStorage.setItem(TOKEN_KEY, body.token);
  sessionStorage.setItem(USER_KEY, JSON.stringify(body.user));
  return body.user as User;
}

async function send(method: string, path: string, body?: unknown, raw?: Blob): Promise<Response> {
  const token = sessionStorage.getItem(TOKEN_KEY) ?? '';
  const headers: Record<string, string> = { Authorization: `Bearer ${token}` };
  let payload: BodyInit | undefined;
  if (raw) {
    payload = raw;
    headers['Content-Type'] = raw.type || 'application/octet-stream';
  } else if (body !== undefined) {
    payload = JSON.stringify(body);
    headers['Content-Type'] = 'application/json';
  }
  const response = await fetch(`/api/v1${path}`, { method, headers, body: payload });
  if (response.status === 401) {
    signOut();
    onSignedOut();
  }
  if (!response.ok) {
    const data = await response.json().catch(() => null);
    throw new ApiError(
      response.status,
      data?.error?.message ?? `${method} ${path} failed (${response.status})`,
      data?.problems ?? [],
    );
  }
  return response;
}

export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const response = await send(method, path, body);
  if (response.status === 204) return undefined as T;
  return (await response.json()) as T;
}

export async function apiBlob(method: string, path: string, body?: unknown): Promise<Blob> {
  const response = await send(method, path, body);
  return response.blob();
}

export async function apiUpload<T>(method: string, path: string, file: Blob): Promise<T> {
  const response = await send(method, path, undefined, file);
  return (await response.json()) as T;
}

export function query(params: Record<string, string | number | undefined>): string {
  const parts = Object.entries(params)
    .filter(([, v]) => v !== undefined && v !== '')
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`);
  return parts.length ? `?${parts.join('&')}` : '';
}
