// The chat: the sidebar of chats, the conversation (a branch of the message tree) with
// the live run under the last message, and the composer.
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { useSignal } from '@preact/signals';
import { html, memo } from '../lib/html.js';
import { request, describe } from '../lib/api.js';
import { chatFor, sessionsChanged } from '../lib/chat.js';
import { runs, runFor, catchUp } from '../lib/runs.js';
import { agents, selectedAgent, selectAgent, sidebarOpen, loadAgents } from '../lib/store.js';
import { RunPanel } from './plan.js';
import { Banner, Spinner, href, navigate, when, isTyping } from './common.js';

// --- sidebar --------------------------------------------------------------------------------
async function newChat(agentId) {
  const session = await request('v1/sessions', { method: 'POST', body: { agent_id: agentId } });
  sessionsChanged.value++;
  navigate(`/chat/${session.id}`);
  return session;
}

function Sidebar({ sessionId }) {
  const list = useSignal(null);
  const error = useSignal('');
  const agentId = selectedAgent.value;
  const version = sessionsChanged.value;
  useEffect(() => {
    if (!agentId) return undefined;
    let live = true;
    request('v1/sessions', { params: { agent_id: agentId } })
      .then((sessions) => {
        if (live) {
          list.value = sessions;
          error.value = '';
        }
      })
      .catch((e) => {
        if (live) error.value = describe(e);
      });
    return () => {
      live = false;
    };
  }, [agentId, version]);
  const all = agents.value || [];
  const start = async () => {
    try {
      await newChat(agentId);
    } catch (e) {
      error.value = describe(e);
    }
  };
  return html`<aside class=${`sidebar ${sidebarOpen.value ? 'open' : ''}`} aria-label="Chats">
    <button type="button" class="icon-button close-sidebar" aria-label="Close the chat list" onClick=${() => (sidebarOpen.value = false)}>✕</button>
    <label class="field">
      <span>Agent</span>
      <select value=${agentId} onChange=${(e) => selectAgent(e.currentTarget.value)} aria-label="Agent">
        ${all.map((a) => html`<option value=${a.id} key=${a.id}>${a.name}</option>`)}
      </select>
    </label>
    <button type="button" class="primary new-chat" onClick=${start} disabled=${!agentId}>+ New chat</button>
    ${error.value && html`<p class="error-text">${error.value}</p>`}
    <nav class="sessions" aria-label="Chats with this agent">
      ${list.value === null && agentId && html`<${Spinner} />`}
      ${list.value && list.value.length === 0 && html`<p class="muted">No chats with this agent yet.</p>`}
      <ul>
        ${(list.value || []).map(
          (s) => html`<li key=${s.id}>
            <a href=${href(`/chat/${s.id}`)} class=${s.id === sessionId ? 'current' : ''} aria-current=${s.id === sessionId ? 'page' : undefined} data-session=${s.id}>
              <span class="title">${s.title || 'New chat'}</span>
              <span class="meta">${s.active_run_id ? html`<span class="live-dot" title="a run is going on">●</span> ` : ''}${when(s.updated_at)}</span>
            </a>
          </li>`,
        )}
      </ul>
    </nav>
  </aside>`;
}

// --- messages ----------------------------------------------------------------------------------
function BranchSwitcher({ ids, current, disabled, onSwitch }) {
  const index = ids.indexOf(current);
  if (ids.length < 2) return null;
  return html`<span class="switcher" role="group" aria-label="Versions of this message">
    <button type="button" class="icon-button" aria-label="Previous version" disabled=${disabled || index <= 0} onClick=${() => onSwitch(ids[index - 1])}>‹</button>
    <span class="count" aria-live="polite">${index + 1}/${ids.length}</span>
    <button type="button" class="icon-button" aria-label="Next version" disabled=${disabled || index >= ids.length - 1} onClick=${() => onSwitch(ids[index + 1])}>›</button>
  </span>`;
}

/** The run of a past message: kept from this page, or read from its event log on demand. */
function PastRun({ runId, auto = false, showText = false }) {
  const [run, setRun] = useState(() => runs.get(runId) || null);
  useEffect(() => {
    if (run) catchUp(run);
  }, [run]);
  useEffect(() => {
    if (auto && !run) setRun(runFor(runId));
  }, [auto, runId]);
  if (!run) {
    return html`<button type="button" class="link show-steps" onClick=${() => setRun(runFor(runId))}>Show steps</button>`;
  }
  return html`<div class="past-run">
    <${RunPanel} run=${run} />
    ${showText && run.hasText.value && html`<div class="answer partial">${run.text}</div>`}
  </div>`;
}

const Message = memo(function Message({ message, siblings, busy, controller }) {
  const [editing, setEditing] = useState(false);
  const [draft, setDraft] = useState(message.content);
  const [copied, setCopied] = useState(false);
  const editBox = useRef(null);
  useEffect(() => {
    if (editing && editBox.current) editBox.current.focus();
  }, [editing]);
  const mine = message.role === 'user';
  const known = message.run_id && runs.get(message.run_id);
  const [showRun, setShowRun] = useState(!!known);
  const saveEdit = async () => {
    const text = draft.trim();
    if (!text) return;
    setEditing(false);
    const sent = await controller.edit(message, text);
    if (!sent) setEditing(true);
  };
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(message.content);
      setCopied(true);
      setTimeout(() => setCopied(false), 1500);
    } catch {
      // clipboard refused
    }
  };
  const switcher = html`<${BranchSwitcher} ids=${siblings} current=${message.id} disabled=${busy} onSwitch=${(id) => controller.switchTo(id)} />`;
  return html`<li class=${`msg ${message.role}`} data-id=${message.id} data-role=${message.role}>
    ${!mine && message.run_id && (showRun || known) && html`<${PastRun} runId=${message.run_id} auto=${true} />`}
    ${editing
      ? html`<div class="edit">
          <label class="sr-only" for=${`edit-${message.id}`}>Edit your message</label>
          <textarea
            id=${`edit-${message.id}`}
            rows=${Math.min(8, draft.split('\n').length + 1)}
            value=${draft}
            onInput=${(e) => setDraft(e.currentTarget.value)}
            onKeyDown=${(e) => {
              if (e.key === 'Escape') {
                e.preventDefault();
                e.stopPropagation();
                setEditing(false);
              } else if (e.key === 'Enter' && !e.shiftKey) {
                e.preventDefault();
                saveEdit();
              }
            }}
            ref=${editBox}
          ></textarea>
          <div class="buttons">
            <button type="button" class="primary save-edit" onClick=${saveEdit} disabled=${busy}>Send</button>
            <button type="button" onClick=${() => setEditing(false)}>Cancel</button>
          </div>
        </div>`
      : html`<div class="bubble">${message.content}</div>`}
    <div class="msg-actions">
      ${switcher}
      ${mine && !editing &&
      html`<button type="button" class="link edit-button" disabled=${busy} onClick=${() => {
        setDraft(message.content);
        setEditing(true);
      }}>Edit</button>`}
      ${!mine &&
      html`<button type="button" class="link regenerate" disabled=${busy} onClick=${() => controller.regenerate(message)}>Regenerate</button>
        <button type="button" class="link" onClick=${copy}>${copied ? 'Copied' : 'Copy'}</button>
        ${message.run_id && !known && !showRun && html`<button type="button" class="link show-steps" onClick=${() => setShowRun(true)}>Steps</button>`}
        ${message.run_id && !known && !showRun && html`<a class="link" href=${href(`/runs/${message.run_id}`)}>Trace</a>`}`}
    </div>
  </li>`;
});

function waitingLabel(run, stopping) {
  if (stopping) return 'Stopping…';
  if (run.status.value === 'awaiting_approval') return 'Waiting for approval…';
  const attempts = run.attempts.value;
  const last = attempts[attempts.length - 1];
  if (last && last.valid && !last.outcome && last.steps.every((s) => s.status === 'done' || s.status === 'failed')) {
    return 'Writing the answer…';
  }
  return run.phase.value || 'Thinking…';
}

function ActiveTurn({ controller, run }) {
  const stopping = controller.stopping.value;
  if (!run) {
    return html`<li class="msg assistant active" aria-busy="true">
      <div class="run-panel"><${Spinner} label=${stopping ? 'Stopping…' : 'Sending…'} /></div>
    </li>`;
  }
  const status = run.status.value;
  return html`<li class="msg assistant active" data-run=${run.id} aria-busy=${run.ended ? 'false' : 'true'}>
    <${RunPanel} run=${run} />
    ${run.hasText.value
      ? html`<div class=${`bubble answer ${run.ended ? '' : 'streaming'}`} data-run-answer=${run.id}>${run.text}</div>`
      : !run.ended && html`<div class="bubble answer waiting"><${Spinner} label=${waitingLabel(run, stopping)} /></div>`}
  </li>`;
}

function PendingMessage({ pending }) {
  return html`<li class="msg user pending" data-role="user"><div class="bubble">${pending.content}</div>
    <div class="msg-actions"><span class="muted">sending…</span></div></li>`;
}

// --- scrolling -------------------------------------------------------------------------------------
/**
 * Follows new content only while the reader is at the bottom. Growth below never scrolls
 * up, so only a move up (the reader's wheel, keys, finger or scrollbar) stops following,
 * and coming back down to the bottom starts it again.
 */
function useStickToBottom(scroller, content) {
  const atBottom = useRef(true);
  const [away, setAway] = useState(false);
  useLayoutEffect(() => {
    const box = scroller.current;
    const inner = content.current;
    if (!box || !inner) return undefined;
    let lastTop = box.scrollTop;
    const gap = () => box.scrollHeight - box.scrollTop - box.clientHeight;
    const onScroll = () => {
      const top = box.scrollTop;
      if (gap() < 48) {
        atBottom.current = true;
        setAway(false);
      } else if (top < lastTop - 2) {
        atBottom.current = false;
        setAway(true);
      }
      lastTop = top;
    };
    const observer = new ResizeObserver(() => {
      if (atBottom.current) {
        box.scrollTop = box.scrollHeight;
        lastTop = box.scrollTop;
      } else if (gap() >= 48) {
        setAway(true);
      }
    });
    observer.observe(inner);
    box.addEventListener('scroll', onScroll, { passive: true });
    box.scrollTop = box.scrollHeight;
    return () => {
      observer.disconnect();
      box.removeEventListener('scroll', onScroll);
    };
  }, []);
  const jump = () => {
    const box = scroller.current;
    atBottom.current = true;
    setAway(false);
    if (box) box.scrollTop = box.scrollHeight;
  };
  return { away, jump };
}

// --- composer ------------------------------------------------------------------------------------------
function Composer({ controller, busy, running }) {
  const [text, setText] = useState('');
  const box = useRef(null);
  const send = async () => {
    const message = text.trim();
    if (!message || busy) return;
    setText('');
    const branch = controller.branch.peek();
    const sent = await controller.send(message, branch.length ? branch[branch.length - 1] : null);
    if (!sent) setText((current) => current || message);
  };
  const onKeyDown = (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      send();
    }
  };
  return html`<form class="composer" onSubmit=${(e) => {
    e.preventDefault();
    send();
  }}>
    <label class="sr-only" for="composer-input">Message</label>
    <textarea
      id="composer-input"
      ref=${box}
      rows=${Math.min(8, Math.max(1, text.split('\n').length))}
      placeholder=${running ? 'The agent is answering… (Esc stops it)' : 'Message the agent'}
      title="Enter sends, Shift+Enter starts a new line, Esc stops a running reply"
      value=${text}
      onInput=${(e) => setText(e.currentTarget.value)}
      onKeyDown=${onKeyDown}
    ></textarea>
    ${running
      ? html`<button type="button" class="danger stop" onClick=${() => controller.stop()} aria-keyshortcuts="Escape">■ Stop</button>`
      : html`<button type="submit" class="primary send" disabled=${busy || !text.trim()}>Send</button>`}
  </form>`;
}

// --- the conversation --------------------------------------------------------------------------------------
function Conversation({ controller }) {
  const scroller = useRef(null);
  const content = useRef(null);
  const tree = controller.tree.value;
  const branch = controller.branch.value;
  const pending = controller.pending.value;
  const active = controller.active.value;
  const activeStatus = active ? active.status.value : null;
  const running = !!pending || (!!active && !active.ended);
  const busy = running || !!active;
  const { away, jump } = useStickToBottom(scroller, content);
  const last = branch[branch.length - 1];
  const showActive = !!active && (!!pending || !active.userMessageId || active.userMessageId === last);
  const showPendingTurn = !!pending && !active;
  const lastMessage = tree && last ? tree.byId.get(last) : null;
  // a question whose run ended without an answer (stopped, failed): show what the run did
  const orphan =
    lastMessage && lastMessage.role === 'user' && !lastMessage.children.length && lastMessage.run_id &&
    !showActive && !pending
      ? lastMessage
      : null;

  useEffect(() => {
    const onKey = (e) => {
      // read the live state: a handler bound to an older render could miss a run just started
      const run = controller.active.peek();
      const live = !!controller.pending.peek() || (!!run && !run.ended);
      if (e.key === 'Escape' && !e.defaultPrevented && live) {
        e.preventDefault();
        controller.stop();
      } else if (e.key === '/' && !isTyping(e) && !e.ctrlKey && !e.metaKey && !e.altKey) {
        e.preventDefault();
        document.getElementById('composer-input')?.focus();
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [controller]);

  const session = controller.session.value;
  return html`<div class="conversation">
    <div class="chat-title">
      <h1>${(session && session.title) || 'New chat'}</h1>
      <span class="muted chat-status" role="status">${activeStatus === 'awaiting_approval' ? 'waiting for approval' : activeStatus === 'running' ? 'answering…' : ''}</span>
    </div>
    <${Banner} onClose=${() => (controller.error.value = '')}>${controller.error.value}</${Banner}>
    <${Banner} kind="info" onClose=${() => (controller.notice.value = '')}>${controller.notice.value}</${Banner}>
    <div class="scroller" ref=${scroller} tabindex="0" aria-label="Conversation">
      <ol class="messages" ref=${content}>
        ${!tree && html`<li class="hint">${controller.loading.value ? html`<${Spinner} />` : ''}</li>`}
        ${tree && branch.length === 0 && !pending && html`<li class="hint muted">Say something to the agent. Its plan shows above its reply.</li>`}
        ${(tree ? branch : []).map((id, i) => {
          const message = tree.byId.get(id);
          if (!message) return null;
          return html`<${Message}
            key=${id}
            message=${message}
            siblings=${controller.siblings(message)}
            busy=${busy}
            controller=${controller}
          />`;
        })}
        ${orphan &&
        html`<li class="msg assistant orphan" key=${`orphan-${orphan.id}`}>
          <${PastRun} key=${orphan.run_id} runId=${orphan.run_id} auto=${true} showText=${true} />
        </li>`}
        ${pending && html`<${PendingMessage} pending=${pending} />`}
        ${(showActive || showPendingTurn) && html`<${ActiveTurn} controller=${controller} run=${active} />`}
      </ol>
    </div>
    ${away && html`<button type="button" class="jump" onClick=${jump}>↓ Latest</button>`}
    <${Composer} controller=${controller} busy=${busy} running=${running} />
  </div>`;
}

function ChatHome() {
  const all = agents.value;
  const [error, setError] = useState('');
  if (all === null) return html`<div class="home"><${Spinner} /></div>`;
  if (!all.length) {
    return html`<div class="home"><h1>No agents yet</h1><p>Create one under <a href=${href('/agents')}>Agents</a>.</p></div>`;
  }
  return html`<div class="home">
    <h1>Chat with an agent</h1>
    <p class="muted">Pick an agent and start a chat, or reopen one from the list.</p>
    ${error && html`<p class="error-text" role="alert">${error}</p>`}
    <ul class="agent-cards">
      ${all.map(
        (a) => html`<li key=${a.id}>
          <button type="button" class="card" data-agent=${a.id} onClick=${async () => {
            selectAgent(a.id);
            try {
              await newChat(a.id);
            } catch (e) {
              setError(describe(e));
            }
          }}>
            <strong>${a.name}</strong>
            <span class="muted">${a.description || a.model || 'default model'}</span>
            <span class="start">Start a chat →</span>
          </button>
        </li>`,
      )}
    </ul>
  </div>`;
}

export function ChatPage({ sessionId }) {
  const controller = sessionId ? chatFor(sessionId) : null;
  useEffect(() => {
    if (agents.peek() === null) loadAgents();
  }, []);
  useEffect(() => {
    if (!controller) return undefined;
    controller.open();
    return () => controller.close();
  }, [controller]);
  const session = controller && controller.session.value;
  useEffect(() => {
    if (session && session.agent_id) selectAgent(session.agent_id);
  }, [session && session.agent_id]);
  return html`<div class="chat-layout">
    <${Sidebar} sessionId=${sessionId} />
    ${sidebarOpen.value && html`<div class="backdrop" aria-hidden="true" onClick=${() => (sidebarOpen.value = false)}></div>`}
    <main class="chat-main" id="main" tabindex="-1">
      ${controller ? html`<${Conversation} key=${sessionId} controller=${controller} />` : html`<${ChatHome} />`}
    </main>
  </div>`;
}
