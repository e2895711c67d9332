// The public /v1 API, relative to wherever the console is served (a URL prefix works).
// The API key lives in sessionStorage only: never in a URL, never in localStorage.
import { signal } from '@preact/signals';

const KEY_STORAGE = 'agentrt.apiKey';

/** The console's root URL: this file is <root>/console/lib/api.js. */
export const root = new URL('../../', import.meta.url);

export const apiKey = signal(readKey());
/** Why the console signed out by itself (a key refused mid-session), shown on the sign-in page. */
export const signOutReason = signal('');

function readKey() {
  try {
    return sessionStorage.getItem(KEY_STORAGE) || '';
  } catch {
    return '';
  }
}

export function setKey(key) {
  try {
    if (key) sessionStorage.setItem(KEY_STORAGE, key);
    else sessionStorage.removeItem(KEY_STORAGE);
  } catch {
    // storage disabled: the key lives as long as the page
  }
  apiKey.value = key;
}

export function signOut(reason = '') {
  signOutReason.value = reason;
  setKey('');
}

export class ApiError extends Error {
  constructor(status, body) {
    const message = (body && body.message) || `HTTP ${status}`;
    super(message);
    this.status = status;
    this.code = (body && body.code) || (status === 0 ? 'NETWORK_ERROR' : `HTTP_${status}`);
    this.details = body && body.details;
  }
}

export function apiUrl(path, params) {
  const url = new URL(path.replace(/^\//, ''), root);
  for (const [name, value] of Object.entries(params || {})) {
    if (value !== undefined && value !== null && value !== '') url.searchParams.set(name, value);
  }
  return url;
}

/** fetch() with the key; returns the Response whatever its status. Never retried. */
export async function raw(path, { method = 'GET', body, headers = {}, params, signal, key } = {}) {
  const init = {
    method,
    headers: { Authorization: `Bearer ${key ?? apiKey.peek()}`, Accept: 'application/json', ...headers },
    cache: 'no-store',
    credentials: 'omit',
    signal,
  };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  return fetch(apiUrl(path, params), init);
}

export async function errorOf(response, { quiet401 = false } = {}) {
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  const error = new ApiError(response.status, body);
  if (response.status === 401 && !quiet401 && apiKey.peek()) {
    signOut('The server no longer accepts this API key (revoked or invalid). Sign in again.');
  }
  return error;
}

/** The JSON body of a 2xx answer; an ApiError otherwise. */
export async function request(path, options = {}) {
  let response;
  try {
    response = await raw(path, options);
  } catch (error) {
    if (error && error.name === 'AbortError') throw error;
    throw new ApiError(0, { code: 'NETWORK_ERROR', message: 'The server could not be reached.' });
  }
  if (!response.ok) throw await errorOf(response, options);
  if (response.status === 204) return null;
  const text = await response.text();
  return text ? JSON.parse(text) : null;
}

/** A short human sentence for an error. */
export function describe(error) {
  if (!error) return '';
  if (error.name === 'AbortError') return 'Cancelled.';
  if (error instanceof ApiError) {
    if (error.status === 0) return 'The server could not be reached. Check the connection and try again.';
    if (error.status === 403) return `Not allowed: ${error.message}`;
    if (error.code === 'VALIDATION_ERROR' && Array.isArray(error.details)) {
      const fields = error.details
        .map((d) => `${(d.loc || []).filter((p) => p !== 'body').join('.')}: ${d.msg}`)
        .join('; ');
      return `${error.message}${fields ? ` — ${fields}` : ''}`;
    }
    return error.message;
  }
  return String(error.message || error);
}
