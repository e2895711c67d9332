// Small shared pieces: JSON display, times, banners, routing links.
import { useEffect } from 'preact/hooks';
import { html } from '../lib/html.js';
import { now, tick } from '../lib/runs.js';

export function href(path) {
  return `#${path}`;
}

export function navigate(path) {
  if (location.hash !== `#${path}`) location.hash = path;
}

export function Json({ value, label }) {
  let text;
  try {
    text = typeof value === 'string' ? value : JSON.stringify(value, null, 2);
  } catch {
    text = String(value);
  }
  return html`<pre class="json" aria-label=${label}>${text === undefined ? '—' : text}</pre>`;
}

/** One-line JSON for a summary, cut at `max` characters. */
export function brief(value, max = 80) {
  let text;
  try {
    text = JSON.stringify(value);
  } catch {
    text = String(value);
  }
  if (text === undefined) return '';
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

export function ms(value) {
  if (value === null || value === undefined) return '';
  if (value < 1) return `${value.toFixed(2)} ms`;
  if (value < 1000) return `${Math.round(value)} ms`;
  if (value < 60_000) return `${(value / 1000).toFixed(1)} s`;
  return `${Math.floor(value / 60_000)} min ${Math.round((value % 60_000) / 1000)} s`;
}

/** Seconds since `since` (performance.now() time), ticking. */
export function Elapsed({ since }) {
  useEffect(() => {
    tick(true);
    return () => tick(false);
  }, []);
  return html`<span class="elapsed">${ms(Math.max(0, now.value - since))}</span>`;
}

export function when(iso) {
  if (!iso) return '';
  const date = new Date(iso);
  const today = new Date();
  return date.toDateString() === today.toDateString()
    ? date.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })
    : date.toLocaleDateString([], { month: 'short', day: 'numeric' });
}

export function Banner({ kind = 'error', children, onClose }) {
  if (!children || (Array.isArray(children) && !children.some(Boolean))) return null;
  return html`<div class=${`banner ${kind}`} role=${kind === 'error' ? 'alert' : 'status'}>
    <span>${children}</span>
    ${onClose && html`<button type="button" class="link" onClick=${onClose} aria-label="Dismiss">✕</button>`}
  </div>`;
}

export function Spinner({ label = 'Loading…' }) {
  return html`<span class="spinner" role="status"><span class="dot" aria-hidden="true"></span>${label}</span>`;
}

export function isTyping(event) {
  const target = event.target;
  return (
    target instanceof HTMLElement &&
    (target.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(target.tagName))
  );
}
