// The plan of a run as a live list of steps, approval cards, and delegated sub-runs nested
// under their step. Which steps are expanded is kept on the run, so it survives re-renders
// and the run's end.
import { signal } from '@preact/signals';
import { useState } from 'preact/hooks';
import { html } from '../lib/html.js';
import { request, describe } from '../lib/api.js';
import { agents } from '../lib/store.js';
import { Json, Elapsed, brief, ms, href } from './common.js';

/** `agent__<id>` (delegation to another agent) shows as that agent's name. */
function capabilityLabel(capability) {
  if (!capability || !capability.startsWith('agent__')) return capability;
  const agent = (agents.value || []).find((a) => a.id === capability.slice('agent__'.length));
  return agent ? `→ ${agent.name}` : capability;
}

const expandedByRun = new WeakMap();

function expandedOf(run) {
  let expanded = expandedByRun.get(run);
  if (!expanded) {
    expanded = signal(new Set());
    expandedByRun.set(run, expanded);
  }
  return expanded;
}

const LABELS = {
  waiting: 'waiting',
  running: 'running',
  approval: 'needs approval',
  done: 'done',
  failed: 'failed',
  replanned: 're-planned',
  invalid: 'invalid',
  skipped: 'not run',
};

const ICONS = {
  waiting: '○',
  running: '◐',
  approval: '⚠',
  done: '✓',
  failed: '✕',
  replanned: '↻',
  invalid: '!',
  skipped: '–',
};

function stepStatus(step, runEnded) {
  if (runEnded && (step.status === 'waiting' || step.status === 'running' || step.status === 'approval')) {
    return 'skipped';
  }
  return step.status;
}

function Step({ run, attempt, step, ended }) {
  const expanded = expandedOf(run);
  const key = `${attempt.attempt}:${step.id}`;
  const open = expanded.value.has(key);
  const status = stepStatus(step, ended);
  const toggle = () => {
    const next = new Set(expanded.peek());
    if (next.has(key)) next.delete(key);
    else next.add(key);
    expanded.value = next;
  };
  const detailId = `step-${run.id}-${key}`.replace(/[^a-zA-Z0-9_-]/g, '_');
  return html`<li class=${`step ${status}`} data-step=${step.id} data-status=${status}>
    <button type="button" class="step-head" aria-expanded=${open ? 'true' : 'false'} aria-controls=${detailId} onClick=${toggle}>
      <span class="icon" aria-hidden="true">${ICONS[status] || '·'}</span>
      <span class="capability" title=${step.capability}>${capabilityLabel(step.capability)}</span>
      <span class="args-brief">${brief(step.args, 60)}</span>
      <span class="state">
        ${status === 'failed' && step.reason === 'rejected' ? 'rejected' : LABELS[status] || status}
        ${status === 'running' && step.startedAt !== null ? html` · <${Elapsed} since=${step.startedAt} />` : ''}
        ${(status === 'done' || status === 'failed') && step.durationMs !== null ? ` · ${ms(step.durationMs)}` : ''}
      </span>
    </button>
    ${open &&
    html`<div class="step-detail" id=${detailId}>
      <div class="kv"><span>step</span><code>${step.id}</code>${step.dependsOn.length ? html`<span>after</span><code>${step.dependsOn.join(', ')}</code>` : ''}</div>
      <h4>Arguments</h4>
      <${Json} value=${step.args} label="arguments" />
      ${step.output !== undefined && html`<h4>Output</h4><${Json} value=${step.output} label="output" />`}
      ${step.error && html`<h4>Error${step.reason ? ` (${step.reason})` : ''}</h4><pre class="json error-text">${step.error}</pre>`}
    </div>`}
    ${step.children.length > 0 &&
    html`<div class="delegations">
      ${step.children.map((child) => html`<${SubRun} key=${child.id} run=${child} />`)}
    </div>`}
  </li>`;
}

function SubRun({ run }) {
  const status = run.status.value;
  return html`<div class="subrun" data-run=${run.id}>
    <div class="subrun-head">
      <span>↳ delegated${run.task ? html`: <em>${run.task}</em>` : ''}</span>
      <a href=${href(`/runs/${run.id}`)} class="muted">${status} · trace</a>
    </div>
    <${PlanSteps} run=${run} nested=${true} />
    ${run.text.value && html`<div class="subrun-answer">${run.text}</div>`}
  </div>`;
}

function PlanSteps({ run, nested }) {
  const attempts = run.attempts.value;
  const status = run.status.value;
  const ended = status === 'completed' || status === 'failed' || status === 'cancelled';
  if (!attempts.length) {
    if (nested) return null;
    const phase = run.phase.value;
    const text = !ended ? phase || 'Planning…' : status === 'cancelled' ? 'Stopped before a plan was made.' : 'No plan was made.';
    return html`<p class="muted plan-empty">${text}</p>`;
  }
  return html`${attempts.map(
    (attempt) => html`<div class=${`attempt ${attempt.outcome || 'current'}`} key=${attempt.attempt}>
      ${(attempts.length > 1 || !attempt.valid) &&
      html`<div class="attempt-head">
        Plan ${attempt.attempt}${attempt.valid ? '' : ' · invalid'}${attempt.outcome === 'replanned' ? ` · re-planned${attempt.reason ? ` (${attempt.reason})` : ''}` : ''}
      </div>`}
      ${attempt.errors.length > 0 && html`<ul class="plan-errors">${attempt.errors.map((e) => html`<li>${e}</li>`)}</ul>`}
      ${attempt.steps.length
        ? html`<ol class="steps">
            ${attempt.steps.map((step) => html`<${Step} key=${step.id} run=${run} attempt=${attempt} step=${step} ended=${ended} />`)}
          </ol>`
        : html`<p class="muted no-steps">No steps: answering directly.</p>`}
    </div>`,
  )}`;
}

export function ApprovalCard({ approval, onDecided, showLinks = false, sessionLabel = '', compact = false }) {
  const [comment, setComment] = useState('');
  const [busy, setBusy] = useState('');
  const [error, setError] = useState('');
  const [decided, setDecided] = useState(null);
  const id = approval.approval_id || approval.id;
  const status = decided || approval.status;
  const decide = async (decision) => {
    setBusy(decision);
    setError('');
    try {
      const body = { decision };
      if (comment.trim()) body.comment = comment.trim();
      const result = await request(`v1/approvals/${encodeURIComponent(id)}`, { method: 'POST', body });
      setDecided(result.status);
      if (onDecided) onDecided(result);
    } catch (e) {
      setError(e.code === 'APPROVAL_ALREADY_DECIDED' ? 'Somebody already decided this one.' : describe(e));
      if (e.code === 'APPROVAL_ALREADY_DECIDED' && onDecided) onDecided(null);
    } finally {
      setBusy('');
    }
  };
  const pending = status === 'pending';
  if (compact && !pending) {
    return html`<p class=${`approval-note ${status}`} data-approval=${id}>
      ${status === 'approved' ? '✓ Approved' : status === 'rejected' ? '✕ Rejected' : '– Expired'}: <code>${approval.capability}</code> (step ${approval.step_id})${approval.comment ? html` — “${approval.comment}”` : ''}
    </p>`;
  }
  return html`<article class=${`approval ${status}`} data-approval=${id} aria-label=${`Approval for ${approval.capability}`}>
    <header>
      <strong>${pending ? 'Approve this step?' : `Step ${status}`}</strong>
      <span class="pill risk">high risk</span>
      ${sessionLabel && html`<span class="muted">${sessionLabel}</span>`}
    </header>
    <dl>
      <dt>Capability</dt><dd><code>${approval.capability}</code> <span class="muted">(step ${approval.step_id})</span></dd>
      <dt>Reason</dt><dd>${approval.reason || '—'}</dd>
      <dt>Arguments</dt><dd><${Json} value=${approval.args} label="approval arguments" /></dd>
      ${!pending && approval.comment && html`<dt>Comment</dt><dd>${approval.comment}</dd>`}
    </dl>
    ${pending &&
    html`<div class="decide">
      <label class="comment">
        <span>Comment (optional)</span>
        <textarea rows="2" value=${comment} onInput=${(e) => setComment(e.currentTarget.value)} maxlength="4000"></textarea>
      </label>
      <div class="buttons">
        <button type="button" class="primary approve" disabled=${!!busy} onClick=${() => decide('approve')}>
          ${busy === 'approve' ? 'Approving…' : 'Approve'}
        </button>
        <button type="button" class="danger reject" disabled=${!!busy} onClick=${() => decide('reject')}>
          ${busy === 'reject' ? 'Rejecting…' : 'Reject'}
        </button>
      </div>
    </div>`}
    ${decided && html`<p class="muted decided-note">${decided === 'approved' ? 'Approved: the run goes on.' : 'Rejected: the step will not run.'}</p>`}
    ${showLinks &&
    html`<p class="links">
      <a href=${href(`/chat/${approval.session_id}`)}>Open the chat</a> · <a href=${href(`/runs/${approval.run_id}`)}>Run trace</a>
    </p>`}
    ${error && html`<p class="error-text" role="alert">${error}</p>`}
  </article>`;
}

/** The plan and approvals of a run (the answer text is shown by the caller). */
export function RunPanel({ run }) {
  const status = run.status.value;
  const approvals = run.approvals.value;
  const connection = run.connection.value;
  const attempts = run.attempts.value;
  const stepCount = attempts.reduce((n, a) => n + a.steps.length, 0);
  const [collapsed, setCollapsed] = useState(false);
  return html`<section class=${`run-panel ${status}`} data-run=${run.id} data-status=${status} aria-label="Plan">
    <header class="run-head">
      <button type="button" class="link plan-toggle" aria-expanded=${collapsed ? 'false' : 'true'} onClick=${() => setCollapsed(!collapsed)}>
        ${collapsed ? '▸' : '▾'} Plan${stepCount ? ` · ${stepCount} step${stepCount === 1 ? '' : 's'}` : ''}
      </button>
      <span class=${`pill status ${status}`}>${status.replace('_', ' ')}</span>
      ${connection === 'reconnecting' && html`<span class="pill warn" role="status">reconnecting…</span>`}
      <a class="muted trace-link" href=${href(`/runs/${run.id}`)}>trace</a>
    </header>
    ${!collapsed && html`<div class="plan-body"><${PlanSteps} run=${run} nested=${false} /></div>`}
    ${approvals.map((a) => html`<${ApprovalCard} key=${a.approval_id} approval=${a} compact=${true} />`)}
    ${run.error.value &&
    html`<p class=${`run-error ${status}`} role="status">
      ${status === 'cancelled' ? 'Stopped.' : `The run failed: ${run.error.value.message}`}
      ${run.error.value.code && status !== 'cancelled' ? html` <code>${run.error.value.code}</code>` : ''}
    </p>`}
  </section>`;
}
