// What several views share: the caller, the organisation's agents, the chosen agent, the
// pending approvals count, and the route (from the URL's hash, so a URL prefix is no concern).
import { signal } from '@preact/signals';
import { request } from './api.js';

export const me = signal(null);
export const agents = signal(null);
export const agentsError = signal('');
export const pendingApprovals = signal(0);
export const sidebarOpen = signal(false);

const AGENT_STORAGE = 'agentrt.agent';
export const selectedAgent = signal(sessionStorage.getItem(AGENT_STORAGE) || '');

export function selectAgent(id) {
  if (selectedAgent.peek() === id) return;
  selectedAgent.value = id;
  try {
    sessionStorage.setItem(AGENT_STORAGE, id);
  } catch {
    // not kept: fine
  }
}

export async function loadAgents() {
  try {
    const list = await request('v1/agents');
    agents.value = list;
    agentsError.value = '';
    if (list.length && !list.some((a) => a.id === selectedAgent.peek())) selectAgent(list[0].id);
  } catch (error) {
    agentsError.value = error.message;
    if (!agents.peek()) agents.value = [];
  }
}

export async function countApprovals() {
  try {
    pendingApprovals.value = (await request('v1/approvals', { params: { status: 'pending' } })).length;
  } catch {
    // the badge is a hint
  }
}

function parseRoute() {
  const path = decodeURIComponent(location.hash.replace(/^#/, '')) || '/';
  const parts = path.split('/').filter(Boolean);
  return { path, name: parts[0] || 'chat', id: parts[1] || '' };
}

export const route = signal(parseRoute());
window.addEventListener('hashchange', () => {
  route.value = parseRoute();
  sidebarOpen.value = false;
});
