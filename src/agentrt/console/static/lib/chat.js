// One chat (session) as the page shows it: the message tree and the branch on screen, the
// optimistic message being sent, and the run answering it. Sending POSTs once and never
// again: a broken stream is resumed with GET /v1/runs/{id}/events from the last seq seen.
import { signal, batch } from '@preact/signals';
import { ApiError, request, raw, errorOf, describe } from './api.js';
import { readEvents } from './sse.js';
import { runFor, follow } from './runs.js';
import { buildTree, pathTo, leafFrom, siblingsOf } from './tree.js';

/** `work()`, tried again after a pause when the server could not be reached (not on a refusal). */
async function patiently(work, tries = 4) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      if (attempt >= tries || !(error instanceof ApiError) || error.status !== 0) throw error;
      await new Promise((resolve) => setTimeout(resolve, 500 * 2 ** attempt));
    }
  }
}

/** Bumped when a chat list may have changed (new chat, title, a run started or ended). */
export const sessionsChanged = signal(0);

export class ChatController {
  constructor(sessionId) {
    this.id = sessionId;
    this.session = signal(null);
    this.tree = signal(null);
    this.branch = signal([]);
    this.pending = signal(null);
    this.active = signal(null);
    this.error = signal('');
    this.notice = signal('');
    this.loading = signal(true);
    this.stopping = signal(false);
    this.remembered = new Map();
    this.stopRequested = false;
    this._abort = null;
    this._sending = false;
    this._reloads = 0;
  }

  get path() {
    return `v1/sessions/${encodeURIComponent(this.id)}`;
  }

  get busy() {
    const run = this.active.peek();
    return this._sending || !!this.pending.peek() || !!(run && !run.ended);
  }

  /** Load (or reload) the chat and re-attach to a run still going on the server. */
  async open() {
    this.loading.value = true;
    this.error.value = '';
    const shownLeaf = this.branch.peek()[this.branch.peek().length - 1];
    try {
      const ticket = ++this._reloads;
      const [session, body] = await Promise.all([request(this.path), request(`${this.path}/messages`)]);
      if (ticket !== this._reloads) return;
      batch(() => {
        this.session.value = session;
        this._setTree(body, shownLeaf);
        if (!this._sending) this.pending.value = null;
      });
      if (session.active_run_id) this.attach(session.active_run_id);
      else if (this.active.peek() && !this._sending) this.active.value = null;
    } catch (error) {
      this.error.value = describe(error);
    } finally {
      this.loading.value = false;
    }
  }

  /** Stop watching (another chat is shown). The run, if any, goes on on the server. */
  close() {
    if (this._abort) this._abort.abort();
    this._abort = null;
  }

  /** Reload the tree showing the branch through `leafId`; a slower, older reload never wins. */
  async reload(leafId) {
    const ticket = ++this._reloads;
    const body = await request(`${this.path}/messages`, { params: leafId ? { leaf_id: leafId } : {} });
    if (ticket === this._reloads) this._setTree(body, leafId);
  }

  _setTree(body, leafId) {
    const tree = buildTree(body, this.tree.peek());
    this.tree.value = tree;
    this.branch.value = leafId && tree.byId.has(leafId) ? pathTo(tree, leafFrom(tree, leafId, this.remembered)) : body.branch;
  }

  /** Follow the run `runId` of this chat from the last event this page saw of it. */
  attach(runId) {
    const run = runFor(runId);
    run.sessionId = this.id;
    this._watch(run);
    this.active.value = run;
    if (!run.userMessageId) this._learn(run);
    else this._showRunBranch(run);
    if (run.ended) {
      this._finished(run);
      return;
    }
    if (this._abort) this._abort.abort();
    const abort = new AbortController();
    this._abort = abort;
    follow(run, abort.signal);
  }

  /** POST the message once; `parentId` null starts a new root. */
  async send(text, parentId) {
    if (this.busy) return false;
    const tree = this.tree.peek();
    const body = { message: text, parent_message_id: parentId };
    this._sending = true;
    this.stopRequested = false;
    const before = this.branch.peek();
    batch(() => {
      this.error.value = '';
      this.notice.value = '';
      this.pending.value = { content: text, parentId };
      this.branch.value = parentId && tree ? pathTo(tree, parentId) : [];
    });
    if (this._abort) this._abort.abort();
    const abort = new AbortController();
    this._abort = abort;
    let run = null;
    const onEvent = (event) => {
      if (!run) {
        run = runFor(event.run_id);
        run.sessionId = this.id;
        this._watch(run);
        this.active.value = run;
        sessionsChanged.value++;
        this._learn(run);
        if (this.stopRequested) this.stop();
      }
      run.apply(event);
    };
    try {
      let response;
      try {
        response = await raw(`${this.path}/messages`, { method: 'POST', body, signal: abort.signal });
      } catch (error) {
        if (abort.signal.aborted) return true;
        // No answer at all: the message may or may not have been stored. Look, never re-POST.
        return await this._afterLostPost(text, before);
      }
      if (!response.ok) {
        const error = await errorOf(response);
        batch(() => {
          this.pending.value = null;
          this.branch.value = before;
        });
        if (error.code === 'SESSION_BUSY' && error.details && error.details.run_id) {
          this.notice.value = 'A reply is already being written in this chat: here it is. Send again when it ends.';
          this.attach(error.details.run_id);
        } else {
          this.error.value = describe(error);
        }
        return false;
      }
      if (!tree || tree.byId.size === 0) this._titleFrom(text);
      try {
        await readEvents(response, onEvent);
      } catch {
        // the stream broke: resumed below
      }
    } finally {
      this._sending = false;
    }
    if (abort.signal.aborted) return true;
    if (run) {
      if (!run.ended) follow(run, abort.signal);
    } else {
      await this._afterLostPost(text, before);
    }
    return true;
  }

  async _afterLostPost(text, before) {
    try {
      const session = await request(this.path);
      if (session.active_run_id) {
        this.attach(session.active_run_id);
        return true;
      }
      await this.reload();
      this.pending.value = null;
      this.error.value = 'The connection broke before the server answered. The conversation above is what it stored.';
      return true;
    } catch (error) {
      batch(() => {
        this.pending.value = null;
        this.branch.value = before;
        this.error.value = `${describe(error)} The message may not have been sent.`;
      });
      return false;
    }
  }

  /** Cancel the run on the server (before its first event arrives too). */
  async stop() {
    const run = this.active.peek();
    if (!run) {
      if (this.pending.peek()) {
        this.stopRequested = true;
        this.stopping.value = true;
      }
      return;
    }
    this.stopRequested = false;
    if (run.ended) return;
    this.stopping.value = true;
    try {
      await request(`v1/runs/${encodeURIComponent(run.id)}/cancel`, { method: 'POST' });
    } catch (error) {
      if (error.code !== 'RUN_NOT_ACTIVE') this.error.value = describe(error);
    }
  }

  edit(message, text) {
    return this.send(text, message.parent_id || null);
  }

  regenerate(answer) {
    const tree = this.tree.peek();
    const question = tree && tree.byId.get(answer.parent_id);
    if (!question) return Promise.resolve(false);
    return this.send(question.content, question.parent_id || null);
  }

  /** Show the sibling `messageId` (‹ 1/2 ›) and, below it, the branch last seen there. */
  switchTo(messageId) {
    const tree = this.tree.peek();
    const message = tree && tree.byId.get(messageId);
    if (!message || this.busy) return;
    this.remembered.set(message.parent_id || '', messageId);
    for (const id of pathTo(tree, messageId)) {
      const m = tree.byId.get(id);
      this.remembered.set(m.parent_id || '', id);
    }
    const leaf = leafFrom(tree, messageId, this.remembered);
    this.branch.value = pathTo(tree, leaf);
  }

  siblings(message) {
    const tree = this.tree.peek();
    return tree ? siblingsOf(tree, message) : [message.id];
  }

  _watch(run) {
    if (run._watchedBy === this) return;
    run._watchedBy = this;
    run.onEnd.add((ended) => this._finished(ended));
  }

  /** Which message the run answers (the events do not say): to show the branch with its ‹ n/m ›. */
  async _learn(run) {
    try {
      const info = await patiently(() => request(`v1/runs/${encodeURIComponent(run.id)}`));
      run.userMessageId = info.user_message_id;
      if (!run.ended) {
        await patiently(() => this.reload(info.user_message_id));
        if (this.active.peek() === run) this.pending.value = null;
      }
      this._showRunBranch(run);
    } catch {
      // shown when the run ends (_finished reads the tree again)
    }
  }

  _showRunBranch(run) {
    const tree = this.tree.peek();
    const branch = this.branch.peek();
    if (run.ended || !run.userMessageId || !tree || !tree.byId.has(run.userMessageId)) return;
    if (branch[branch.length - 1] !== run.userMessageId) this.branch.value = pathTo(tree, run.userMessageId);
  }

  async _finished(run) {
    if (this.active.peek() !== run) return;
    try {
      if (!run.userMessageId && !run.messageId) {
        const info = await patiently(() => request(`v1/runs/${encodeURIComponent(run.id)}`));
        run.userMessageId = info.user_message_id;
        run.messageId = info.assistant_message_id;
      }
      await patiently(() => this.reload(run.messageId || run.userMessageId));
      if (this.active.peek() === run) {
        batch(() => {
          this.pending.value = null;
          this.active.value = null;
          this.stopping.value = false;
        });
      }
      sessionsChanged.value++;
    } catch (error) {
      this.error.value = describe(error);
    }
  }

  async _titleFrom(text) {
    const session = this.session.peek();
    if (!session || session.title) return;
    const title = text.replace(/\s+/g, ' ').trim().slice(0, 80);
    if (!title) return;
    try {
      this.session.value = await request(this.path, { method: 'PATCH', body: { title } });
      sessionsChanged.value++;
    } catch {
      // a title is a nicety
    }
  }
}

const controllers = new Map();

export function chatFor(sessionId) {
  let controller = controllers.get(sessionId);
  if (!controller) {
    controller = new ChatController(sessionId);
    controllers.set(sessionId, controller);
  }
  return controller;
}

export function forgetChats() {
  for (const controller of controllers.values()) controller.close();
  controllers.clear();
}
