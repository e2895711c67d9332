// The organisation's pending approvals in one place; deciding one resumes its run.
import { useEffect, useRef, useState } from 'preact/hooks';
import { html } from '../lib/html.js';
import { request, describe } from '../lib/api.js';
import { agents, countApprovals, loadAgents } from '../lib/store.js';
import { ApprovalCard } from './plan.js';
import { Banner, Spinner, when } from './common.js';

const POLL_MS = 4000;

export function ApprovalsPage() {
  const [pending, setPending] = useState(null);
  const [decided, setDecided] = useState([]);
  const [sessions, setSessions] = useState({});
  const [error, setError] = useState('');
  const known = useRef({});

  const refresh = async () => {
    try {
      const list = await request('v1/approvals', { params: { status: 'pending' } });
      setPending(list);
      setError('');
      if (list.some((a) => !(a.session_id in known.current))) {
        const all = await request('v1/sessions');
        known.current = Object.fromEntries(all.map((s) => [s.id, s]));
        setSessions(known.current);
      }
    } catch (e) {
      setError(describe(e));
    }
  };

  useEffect(() => {
    if (agents.peek() === null) loadAgents();
    refresh();
    const timer = setInterval(() => document.visibilityState === 'visible' && refresh(), POLL_MS);
    return () => clearInterval(timer);
  }, []);

  const agentName = (sessionId) => {
    const session = sessions[sessionId];
    const agent = session && (agents.value || []).find((a) => a.id === session.agent_id);
    return [agent && agent.name, session && (session.title || 'untitled chat')].filter(Boolean).join(' · ');
  };

  const onDecided = (approval, result) => {
    if (result) setDecided((list) => [{ ...approval, ...result }, ...list]);
    setPending((list) => (list || []).filter((a) => a.id !== approval.id));
    countApprovals();
  };

  return html`<main class="page approvals-page" id="main" tabindex="-1">
    <h1>Pending approvals</h1>
    <p class="muted">High-risk steps of every run in the organisation wait here for a human. Deciding one resumes its run.</p>
    <${Banner}>${error}</${Banner}>
    ${pending === null && html`<${Spinner} />`}
    ${pending && pending.length === 0 && html`<p class="empty-note">Nothing is waiting for approval.</p>`}
    <div class="approval-list">
      ${(pending || []).map(
        (a) => html`<${ApprovalCard}
          key=${a.id}
          approval=${a}
          showLinks=${true}
          sessionLabel=${`${agentName(a.session_id)}${a.created_at ? ` · ${when(a.created_at)}` : ''}`}
          onDecided=${(result) => onDecided(a, result)}
        />`,
      )}
    </div>
    ${decided.length > 0 &&
    html`<section class="decided">
      <h2>Decided just now</h2>
      ${decided.map((a) => html`<${ApprovalCard} key=${a.id} approval=${a} showLinks=${true} sessionLabel=${agentName(a.session_id)} />`)}
    </section>`}
  </main>`;
}
