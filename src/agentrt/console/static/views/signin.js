// Sign in with an API key. The key is checked with GET /v1/me, then kept in sessionStorage.
import { useState } from 'preact/hooks';
import { html } from '../lib/html.js';
import { request, setKey, signOutReason, describe } from '../lib/api.js';
import { me } from '../lib/store.js';

export function SignIn() {
  const [key, setValue] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const submit = async (e) => {
    e.preventDefault();
    const candidate = key.trim();
    if (!candidate) {
      setError('Enter an API key.');
      return;
    }
    setBusy(true);
    setError('');
    try {
      const who = await request('v1/me', { key: candidate, quiet401: true });
      signOutReason.value = '';
      me.value = who;
      setKey(candidate);
    } catch (err) {
      setError(
        err.status === 401
          ? 'That API key was refused: it is wrong, or it has been revoked. Check it and try again.'
          : describe(err),
      );
    } finally {
      setBusy(false);
    }
  };
  return html`<main class="signin" id="main" tabindex="-1">
    <form onSubmit=${submit} aria-labelledby="signin-title" autocomplete="off">
      <h1 id="signin-title"><span class="logo" aria-hidden="true">◆</span> agentrt console</h1>
      <p class="muted">Sign in with an API key (<code>agrt_…</code>). It stays in this browser tab only and is sent in the Authorization header, never in a URL.</p>
      ${signOutReason.value && html`<p class="banner info" role="status">${signOutReason.value}</p>`}
      <label class="field">
        <span>API key</span>
        <input id="api-key" type="password" name="api-key" autocomplete="off" spellcheck="false" value=${key}
          onInput=${(e) => setValue(e.currentTarget.value)} aria-invalid=${error ? 'true' : 'false'} aria-describedby="signin-error" autofocus />
      </label>
      <p id="signin-error" class="error-text" role="alert">${error}</p>
      <button type="submit" class="primary" disabled=${busy}>${busy ? 'Checking…' : 'Sign in'}</button>
    </form>
  </main>`;
}
