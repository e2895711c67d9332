// The agentrt web console. No build step: ES modules, an import map, vendored Preact + htm +
// signals. It uses only the public /v1 API, with the key in the Authorization header.
import { render } from 'preact';
import { effect } from '@preact/signals';
import { useEffect, useState } from 'preact/hooks';
import { html } from './lib/html.js';
import { apiKey, request, signOut } from './lib/api.js';
import { me, agents, route, pendingApprovals, countApprovals, sidebarOpen } from './lib/store.js';
import { forgetChats } from './lib/chat.js';
import { runs } from './lib/runs.js';
import { SignIn } from './views/signin.js';
import { ChatPage } from './views/chat.js';
import { ApprovalsPage } from './views/approvals.js';
import { AgentsPage } from './views/agents.js';
import { TracePage } from './views/trace.js';
import { href, navigate, isTyping } from './views/common.js';

const SHORTCUTS = [
  ['Enter', 'send the message'],
  ['Shift + Enter', 'new line in the message'],
  ['Esc', 'stop the running reply (or cancel an edit)'],
  ['/', 'focus the message box'],
  ['g then c', 'go to the chat'],
  ['g then p', 'go to pending approvals'],
  ['g then a', 'go to agents'],
  ['?', 'show these shortcuts'],
];

function Help({ onClose }) {
  useEffect(() => {
    const onKey = (e) => e.key === 'Escape' && (e.preventDefault(), onClose());
    window.addEventListener('keydown', onKey, true);
    document.getElementById('help-close')?.focus();
    return () => window.removeEventListener('keydown', onKey, true);
  }, []);
  return html`<div class="overlay" onClick=${(e) => e.target === e.currentTarget && onClose()}>
    <div class="dialog" role="dialog" aria-modal="true" aria-labelledby="help-title">
      <h2 id="help-title">Keyboard shortcuts</h2>
      <table class="shortcuts"><tbody>
        ${SHORTCUTS.map(([keys, what]) => html`<tr key=${keys}><th scope="row"><kbd>${keys}</kbd></th><td>${what}</td></tr>`)}
      </tbody></table>
      <button type="button" id="help-close" class="primary" onClick=${onClose}>Close</button>
    </div>
  </div>`;
}

function useShortcuts(setHelp) {
  useEffect(() => {
    let leader = 0;
    const onKey = (e) => {
      if (isTyping(e) || e.ctrlKey || e.metaKey || e.altKey) return;
      if (e.key === '?') {
        e.preventDefault();
        setHelp(true);
        return;
      }
      if (e.key === 'g') {
        leader = Date.now();
        return;
      }
      if (Date.now() - leader < 1200) {
        const target = { c: '/chat', p: '/approvals', a: '/agents' }[e.key];
        leader = 0;
        if (target) {
          e.preventDefault();
          navigate(target);
        }
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);
}

function Header() {
  const current = route.value.name;
  const who = me.value;
  const count = pendingApprovals.value;
  const link = (name, path, label, extra = '') =>
    html`<a href=${href(path)} class=${current === name ? 'current' : ''} aria-current=${current === name ? 'page' : undefined}>${label}${extra}</a>`;
  return html`<header class="topbar">
    <a class="skip" href="#main" onClick=${(e) => {
      e.preventDefault();
      document.getElementById('main')?.focus();
    }}>Skip to content</a>
    ${current === 'chat' &&
    html`<button type="button" class="icon-button menu" aria-label="Chats" aria-expanded=${sidebarOpen.value ? 'true' : 'false'}
      onClick=${() => (sidebarOpen.value = !sidebarOpen.value)}>☰</button>`}
    <a class="brand" href=${href('/chat')}><span class="logo" aria-hidden="true">◆</span> agentrt</a>
    <nav class="mainnav" aria-label="Console">
      ${link('chat', '/chat', 'Chat')}
      ${link('approvals', '/approvals', 'Approvals', count ? html` <span class="badge" aria-label=${`${count} pending`}>${count}</span>` : '')}
      ${link('agents', '/agents', 'Agents')}
    </nav>
    <div class="who">
      ${who && html`<span class="muted" title=${who.org_id}>${who.email} · ${who.role}</span>`}
      <button type="button" class="link" onClick=${() => signOut()}>Sign out</button>
    </div>
  </header>`;
}

function Console() {
  const [help, setHelp] = useState(false);
  useShortcuts(setHelp);
  useEffect(() => {
    if (!me.peek()) {
      request('v1/me')
        .then((who) => (me.value = who))
        .catch(() => {});
    }
    countApprovals();
    const timer = setInterval(() => document.visibilityState === 'visible' && countApprovals(), 10_000);
    return () => clearInterval(timer);
  }, []);
  const { name, id } = route.value;
  let page;
  if (name === 'approvals') page = html`<${ApprovalsPage} />`;
  else if (name === 'agents') page = html`<${AgentsPage} agentId=${id} />`;
  else if (name === 'runs' && id) page = html`<${TracePage} key=${id} runId=${id} />`;
  else page = html`<${ChatPage} sessionId=${name === 'chat' ? id : ''} />`;
  return html`<div class="console">
    <${Header} />
    ${page}
    ${help && html`<${Help} onClose=${() => setHelp(false)} />`}
  </div>`;
}

function App() {
  if (!apiKey.value) return html`<${SignIn} />`;
  return html`<${Console} />`;
}

// Signed out (or the key refused): nothing of the previous key's organisation stays in memory.
effect(() => {
  if (apiKey.value) return;
  me.value = null;
  agents.value = null;
  pendingApprovals.value = 0;
  forgetChats();
  runs.clear();
});

const mount = document.getElementById('app');
mount.textContent = '';
mount.classList.remove('boot');
mount.removeAttribute('aria-busy');
render(html`<${App} />`, mount);
