// A run as the page knows it: its events folded into signals (plan, steps, approvals,
// answer text), the last event seq seen (to resume with Last-Event-ID), and the stream
// that follows it. A run belongs to the server: leaving the page never stops it.
import { signal, computed, batch } from '@preact/signals';
import { raw, errorOf, describe } from './api.js';
import { readEvents } from './sse.js';

export const ENDED = new Set(['completed', 'failed', 'cancelled']);

/** Ticks while something shows an elapsed time. */
export const now = signal(performance.now());
let ticking = 0;
let ticker = null;
export function tick(on) {
  ticking += on ? 1 : -1;
  if (ticking > 0 && ticker === null) {
    ticker = setInterval(() => {
      now.value = performance.now();
    }, 200);
  } else if (ticking <= 0 && ticker !== null) {
    clearInterval(ticker);
    ticker = null;
    ticking = 0;
  }
}

const sleep = (ms, signal) =>
  new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    });
  });

export class RunState {
  constructor(id, parent = null) {
    this.id = id;
    this.parent = parent;
    this.lastSeq = 0;
    this.status = signal('running');
    this.phase = signal('');
    this.model = signal('');
    this.attempts = signal([]);
    this.approvals = signal([]);
    this.text = signal('');
    this.hasText = computed(() => this.text.value !== '');
    this.error = signal(null);
    this.connection = signal('idle');
    this.eventCount = signal(0);
    this.children = new Map();
    this.task = '';
    this.messageId = null;
    this.userMessageId = null;
    this.sessionId = null;
    this.events = [];
    this.keepEvents = false;
    this.onEnd = new Set();
    this._pending = '';
    this._flushQueued = false;
  }

  get ended() {
    return ENDED.has(this.status.peek());
  }

  /** Fold one event in. Events at or below the last seq seen are dropped: no duplicate ever. */
  apply(event) {
    if (typeof event.seq === 'number') {
      if (event.seq <= this.lastSeq) return false;
      this.lastSeq = event.seq;
    }
    if (this.keepEvents) this.events.push(event);
    const d = event.data || {};
    switch (event.type) {
      case 'thinking':
        this.phase.value = d.content || '';
        break;
      case 'run_started':
        this.model.value = d.model || '';
        if (d.session_id) this.sessionId = d.session_id;
        break;
      case 'plan':
        this._closeAttempt('replanned');
        this.attempts.value = [
          ...this.attempts.peek(),
          {
            attempt: d.attempt ?? this.attempts.peek().length + 1,
            valid: d.valid !== false,
            errors: d.errors || [],
            outcome: null,
            reason: '',
            steps: (d.steps || []).map((s) => ({
              id: s.id,
              capability: s.capability,
              args: s.args,
              dependsOn: s.depends_on || [],
              status: d.valid === false ? 'invalid' : 'waiting',
              output: undefined,
              error: '',
              reason: '',
              durationMs: null,
              startedAt: null,
              approvalId: null,
              children: [],
            })),
          },
        ];
        this.phase.value = d.valid === false ? 'The plan was not valid; planning again…' : 'Running the plan…';
        break;
      case 'replan':
        this._closeAttempt('replanned', d.reason === 'invalid_plan' ? 'the plan was invalid' : 'a step failed');
        this.phase.value = 'Planning again…';
        break;
      case 'step_started':
        this._step(d.step_id, () => ({ status: 'running', args: d.args, startedAt: performance.now() }));
        break;
      case 'step_finished':
        this._step(d.step_id, () => ({ status: 'done', output: d.output, durationMs: d.duration_ms ?? null }));
        break;
      case 'step_failed':
        this._step(d.step_id, () => ({
          status: 'failed',
          error: d.error || '',
          reason: d.reason || 'error',
          durationMs: d.duration_ms ?? null,
        }));
        break;
      case 'approval_required':
        this.approvals.value = [...this.approvals.peek(), { ...d, status: 'pending', comment: null }];
        this._step(d.step_id, () => ({ status: 'approval', approvalId: d.approval_id }));
        this.status.value = 'awaiting_approval';
        this.phase.value = 'Waiting for approval…';
        break;
      case 'approval_resolved': {
        const status = { approve: 'approved', reject: 'rejected' }[d.decision] || 'expired';
        this.approvals.value = this.approvals
          .peek()
          .map((a) => (a.approval_id === d.approval_id ? { ...a, status, comment: d.comment ?? null } : a));
        this._step(d.step_id, (s) => (s.status === 'approval' ? { status: status === 'approved' ? 'waiting' : s.status } : {}));
        if (!this.approvals.peek().some((a) => a.status === 'pending') && !this.ended) this.status.value = 'running';
        break;
      }
      case 'delegation': {
        let child = this.children.get(d.child_run_id);
        if (!child) {
          child = new RunState(d.child_run_id, this);
          this.children.set(d.child_run_id, child);
          this._step(d.step_id, (s) => ({ children: [...s.children, child] }));
        }
        if (d.task) child.task = d.task;
        if (d.event) child.apply(d.event);
        break;
      }
      case 'token':
        this._pending += d.text || '';
        this._queueFlush();
        break;
      case 'message':
        this._pending = '';
        this.text.value = d.content || '';
        break;
      case 'done':
        this.messageId = d.messageId || d.message_id || null;
        this._end('completed');
        break;
      case 'error': {
        const cause = d.cause || d;
        this.error.value = { code: cause.code || d.code, message: cause.message || d.message || 'The run failed.' };
        this._end(cause.code === 'RUN_CANCELLED' ? 'cancelled' : 'failed');
        break;
      }
      default:
        break;
    }
    this.eventCount.value = this.eventCount.peek() + 1;
    return true;
  }

  flush() {
    this._flushQueued = false;
    if (this._pending) {
      const text = this._pending;
      this._pending = '';
      this.text.value = this.text.peek() + text;
    }
  }

  _queueFlush() {
    if (this._flushQueued) return;
    this._flushQueued = true;
    // One DOM update per frame however many tokens arrived; the timeout also covers hidden tabs.
    const flush = () => this._flushQueued && this.flush();
    requestAnimationFrame(flush);
    setTimeout(flush, 100);
  }

  _end(status) {
    this.flush();
    batch(() => {
      this.status.value = status;
      this.phase.value = '';
      this._closeAttempt(null);
    });
    for (const callback of this.onEnd) callback(this);
  }

  _closeAttempt(outcome, reason = '') {
    const attempts = this.attempts.peek();
    const last = attempts[attempts.length - 1];
    if (!last || last.outcome) return;
    const closed = {
      ...last,
      outcome: outcome || 'final',
      reason,
      steps: last.steps.map((s) =>
        outcome === 'replanned' && (s.status === 'waiting' || s.status === 'approval') ? { ...s, status: 'replanned' } : s,
      ),
    };
    if (!outcome) closed.outcome = 'final';
    this.attempts.value = [...attempts.slice(0, -1), closed];
  }

  _step(stepId, patch) {
    const attempts = this.attempts.peek();
    for (let i = attempts.length - 1; i >= 0; i--) {
      const index = attempts[i].steps.findIndex((s) => s.id === stepId);
      if (index < 0) continue;
      const steps = attempts[i].steps.slice();
      steps[index] = { ...steps[index], ...patch(steps[index]) };
      const next = attempts.slice();
      next[i] = { ...attempts[i], steps };
      this.attempts.value = next;
      return;
    }
  }
}

/** Every run this page has seen, by id: switching chats and back keeps what was received. */
export const runs = new Map();

export function runFor(id) {
  let run = runs.get(id);
  if (!run) {
    run = new RunState(id);
    runs.set(id, run);
  }
  return run;
}

/**
 * Follow a run through GET /v1/runs/{id}/events from the last event seen (Last-Event-ID),
 * reconnecting with back-off when the connection drops, until the run ends or `signal` aborts.
 */
export async function follow(run, signal) {
  run.following = (run.following || 0) + 1;
  try {
    await followLoop(run, signal);
  } finally {
    run.following -= 1;
  }
}

/** Read the rest of a run nobody follows (its log ends with the run): a run left mid-way is never shown stale. */
export function catchUp(run) {
  if (!run.ended && !run.following) follow(run, new AbortController().signal);
}

async function followLoop(run, signal) {
  let delay = 300;
  while (!run.ended && !signal.aborted) {
    run.connection.value = run.lastSeq ? 'reconnecting' : 'connecting';
    try {
      const headers = run.lastSeq ? { 'Last-Event-ID': String(run.lastSeq) } : {};
      const response = await raw(`v1/runs/${encodeURIComponent(run.id)}/events`, { headers, signal });
      if (!response.ok) {
        const error = await errorOf(response);
        if (response.status >= 400 && response.status < 500) {
          run.connection.value = 'idle';
          run.error.value = { code: error.code, message: describe(error) };
          return;
        }
        throw error;
      }
      run.connection.value = 'live';
      delay = 300;
      await readEvents(response, (event) => run.apply(event));
    } catch {
      if (signal.aborted) break;
    }
    if (!run.ended && !signal.aborted) {
      run.connection.value = 'reconnecting';
      await sleep(delay, signal);
      delay = Math.min(delay * 2, 5000);
    }
  }
  run.connection.value = 'idle';
}
