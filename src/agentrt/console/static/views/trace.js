// A run's trace: status, timings, token usage, every plan and step with its duration,
// approvals, delegated sub-runs, and the raw event log (live while the run goes on).
import { useEffect, useMemo, useState } from 'preact/hooks';
import { html } from '../lib/html.js';
import { request, describe } from '../lib/api.js';
import { RunState, follow } from '../lib/runs.js';
import { agents, loadAgents } from '../lib/store.js';
import { RunPanel } from './plan.js';
import { Banner, Spinner, brief, href, ms } from './common.js';

function Usage({ usage }) {
  const entries = Object.entries(usage || {});
  if (!entries.length) return html`<p class="muted">No token usage recorded.</p>`;
  return html`<table class="usage">
    <tbody>
      ${entries.map(
        ([name, value]) => html`<tr key=${name}>
          <th scope="row">${name.replace(/_/g, ' ')}</th>
          <td>${typeof value === 'object' ? brief(value, 120) : String(value)}</td>
        </tr>`,
      )}
    </tbody>
  </table>`;
}

function Timings({ run }) {
  const attempts = run.attempts.value;
  const steps = attempts.flatMap((a) => a.steps.map((s) => ({ ...s, attempt: a.attempt })));
  const longest = Math.max(1, ...steps.map((s) => s.durationMs || 0));
  if (!steps.length) return html`<p class="muted">The run planned no steps.</p>`;
  return html`<table class="timings">
    <thead><tr><th>plan</th><th>step</th><th>capability</th><th>status</th><th>duration</th><th class="bar-cell" aria-hidden="true"></th></tr></thead>
    <tbody>
      ${steps.map(
        (s) => html`<tr key=${`${s.attempt}:${s.id}`} data-step=${s.id}>
          <td>${s.attempt}</td>
          <td><code>${s.id}</code></td>
          <td>${s.capability}</td>
          <td class=${`state ${s.status}`}>${s.status}</td>
          <td class="num">${s.durationMs === null ? '—' : ms(s.durationMs)}</td>
          <td class="bar-cell" aria-hidden="true"><span class="bar" style=${{ width: `${Math.max(1, ((s.durationMs || 0) / longest) * 100)}%` }}></span></td>
        </tr>`,
      )}
    </tbody>
  </table>`;
}

function EventLog({ run }) {
  run.eventCount.value;
  const events = run.events;
  return html`<details class="event-log">
    <summary>Event log · ${events.length} events</summary>
    <table>
      <thead><tr><th>seq</th><th>type</th><th>data</th></tr></thead>
      <tbody>
        ${events.map(
          (e) => html`<tr key=${e.seq}><td class="num">${e.seq}</td><td>${e.type}</td><td><code>${brief(e.data, 160)}</code></td></tr>`,
        )}
      </tbody>
    </table>
  </details>`;
}

export function TracePage({ runId }) {
  const run = useMemo(() => {
    const state = new RunState(runId);
    state.keepEvents = true;
    return state;
  }, [runId]);
  const [info, setInfo] = useState(null);
  const [error, setError] = useState('');
  const status = run.status.value;

  useEffect(() => {
    if (agents.peek() === null) loadAgents();
    const abort = new AbortController();
    request(`v1/runs/${encodeURIComponent(runId)}`)
      .then(setInfo)
      .catch((e) => setError(describe(e)));
    follow(run, abort.signal);
    return () => abort.abort();
  }, [run]);

  useEffect(() => {
    if (run.ended) {
      request(`v1/runs/${encodeURIComponent(runId)}`)
        .then(setInfo)
        .catch(() => {});
    }
  }, [status]);

  const agent = info && (agents.value || []).find((a) => a.id === info.agent_id);
  return html`<main class="page trace-page" id="main" tabindex="-1">
    <h1>Run trace</h1>
    <p class="muted"><code>${runId}</code></p>
    <${Banner}>${error || (run.error.value && !info ? run.error.value.message : '')}</${Banner}>
    ${!info && !error && html`<${Spinner} />`}
    ${info &&
    html`<section class="trace-summary">
      <dl class="facts">
        <dt>Status</dt><dd><span class=${`pill status ${info.status}`}>${info.status.replace('_', ' ')}</span></dd>
        <dt>Agent</dt><dd>${agent ? agent.name : info.agent_id}${run.model.value ? html` · <code>${run.model.value}</code>` : ''}</dd>
        <dt>Chat</dt><dd><a href=${href(`/chat/${info.session_id}`)}>open the chat</a></dd>
        ${info.parent_run_id && html`<dt>Delegated by</dt><dd><a href=${href(`/runs/${info.parent_run_id}`)}>${info.parent_run_id}</a> (step ${info.parent_step_id})</dd>`}
        <dt>Started</dt><dd>${new Date(info.started_at).toLocaleString()}</dd>
        <dt>Finished</dt><dd>${info.finished_at ? new Date(info.finished_at).toLocaleString() : '—'}</dd>
        <dt>Duration</dt><dd class="duration">${info.duration_ms === null || info.duration_ms === undefined ? '—' : ms(info.duration_ms)}</dd>
        ${info.error && html`<dt>Error</dt><dd class="error-text">${info.error.code}: ${info.error.message}</dd>`}
      </dl>
      <h2>Token usage</h2>
      <${Usage} usage=${info.usage} />
    </section>`}
    <h2>Steps and timings</h2>
    <${Timings} run=${run} />
    <h2>Plan</h2>
    <${RunPanel} run=${run} />
    ${run.hasText.value && html`<h2>Answer</h2><div class="bubble answer">${run.text}</div>`}
    <${EventLog} run=${run} />
  </main>`;
}
