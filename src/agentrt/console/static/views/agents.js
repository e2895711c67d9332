// Manage agents: prompt, model, temperature, bound skills (and their versions), tools,
// MCP servers, runtime policy and metadata. Members see them read-only.
import { useEffect, useState } from 'preact/hooks';
import { html } from '../lib/html.js';
import { request, describe } from '../lib/api.js';
import { agents, loadAgents, me, selectAgent } from '../lib/store.js';
import { Banner, Spinner, href, navigate } from './common.js';

const POLICY_DEFAULTS = {
  max_iterations: 10,
  max_replan_attempts: 3,
  enable_parallel_execution: true,
  enable_delegation: true,
  require_approval_for_high_risk: true,
  high_risk_tools: ['code_run', 'shell_exec', 'file_write'],
  metadata: {},
};

function blank() {
  return {
    name: '',
    description: '',
    system_prompt: '',
    model: '',
    temperature: 0.7,
    max_tokens: 4096,
    skills: [],
    tools: [],
    mcp_servers: [],
    runtime_policy: { ...POLICY_DEFAULTS },
    metadata: {},
  };
}

function toForm(agent) {
  return {
    ...blank(),
    ...agent,
    description: agent.description || '',
    model: agent.model || '',
    runtime_policy: { ...POLICY_DEFAULTS, ...(agent.runtime_policy || {}) },
    metadataText: JSON.stringify(agent.metadata || {}, null, 2),
    policyMetadataText: JSON.stringify((agent.runtime_policy || {}).metadata || {}, null, 2),
    highRiskText: ((agent.runtime_policy || POLICY_DEFAULTS).high_risk_tools || []).join(', '),
  };
}

/** Skills grouped by name, newest version last. */
function skillGroups(skills) {
  const groups = new Map();
  for (const skill of skills) {
    if (!groups.has(skill.name)) groups.set(skill.name, []);
    groups.get(skill.name).push(skill);
  }
  return [...groups.entries()].sort(([a], [b]) => a.localeCompare(b));
}

/** The binding of skill `name` in the agent's list: '' (not bound), 'latest' or a skill id. */
function bindingOf(list, name, versions) {
  for (const entry of list) {
    if (entry === name) return 'latest';
    if (versions.some((v) => v.id === entry)) return entry;
  }
  return '';
}

function SkillsField({ value, skills, disabled, onChange }) {
  const groups = skillGroups(skills);
  const setBinding = (name, versions, binding) => {
    const others = value.filter((entry) => entry !== name && !versions.some((v) => v.id === entry));
    onChange(binding ? [...others, binding === 'latest' ? name : binding] : others);
  };
  if (!groups.length) return html`<p class="muted">No skills in this organisation.</p>`;
  return html`<table class="bindings">
    <thead><tr><th>skill</th><th>bound</th><th>version</th></tr></thead>
    <tbody>
      ${groups.map(([name, versions]) => {
        const binding = bindingOf(value, name, versions);
        const active = versions.filter((v) => v.is_active !== false);
        return html`<tr key=${name} data-skill=${name}>
          <td><strong>${name}</strong><br /><span class="muted">${versions[versions.length - 1].description || ''}</span></td>
          <td><input type="checkbox" aria-label=${`Bind ${name}`} checked=${!!binding} disabled=${disabled}
            onChange=${(e) => setBinding(name, versions, e.currentTarget.checked ? 'latest' : '')} /></td>
          <td>
            <select aria-label=${`Version of ${name}`} disabled=${disabled || !binding} value=${binding || 'latest'}
              onChange=${(e) => setBinding(name, versions, e.currentTarget.value)}>
              <option value="latest">newest active</option>
              ${active.map((v) => html`<option value=${v.id} key=${v.id}>${v.version}${v.source ? ` (${v.source})` : ''}</option>`)}
            </select>
          </td>
        </tr>`;
      })}
    </tbody>
  </table>`;
}

function Checklist({ items, value, disabled, onChange, label, empty }) {
  if (!items || !items.length) return html`<p class="muted">${empty}</p>`;
  return html`<fieldset class="checklist" disabled=${disabled}>
    <legend class="sr-only">${label}</legend>
    ${items.map(
      (item) => html`<label key=${item.id}>
        <input type="checkbox" checked=${value.includes(item.id)}
          onChange=${(e) => onChange(e.currentTarget.checked ? [...value, item.id] : value.filter((id) => id !== item.id))} />
        <span><strong>${item.name}</strong> <span class="muted">${item.description || item.transport || ''}</span></span>
      </label>`,
    )}
  </fieldset>`;
}

function parseJson(text, field) {
  try {
    const value = JSON.parse(text || '{}');
    if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new Error('not an object');
    return value;
  } catch (e) {
    throw new Error(`${field} must be a JSON object (${e.message})`);
  }
}

function AgentForm({ agent, catalog, canEdit, onSaved, onDeleted }) {
  const [form, setForm] = useState(() => toForm(agent || blank()));
  const [saving, setSaving] = useState(false);
  const [error, setError] = useState('');
  const [saved, setSaved] = useState('');
  const set = (patch) => setForm((f) => ({ ...f, ...patch }));
  const setPolicy = (patch) => setForm((f) => ({ ...f, runtime_policy: { ...f.runtime_policy, ...patch } }));
  const disabled = !canEdit || saving;

  const save = async (e) => {
    e.preventDefault();
    setError('');
    setSaved('');
    let body;
    try {
      body = {
        name: form.name.trim(),
        description: form.description.trim() || null,
        system_prompt: form.system_prompt,
        model: form.model.trim() || null,
        temperature: Number(form.temperature),
        max_tokens: Number(form.max_tokens),
        skills: form.skills,
        tools: form.tools,
        mcp_servers: form.mcp_servers,
        runtime_policy: {
          ...form.runtime_policy,
          max_iterations: Number(form.runtime_policy.max_iterations),
          max_replan_attempts: Number(form.runtime_policy.max_replan_attempts),
          high_risk_tools: form.highRiskText.split(',').map((s) => s.trim()).filter(Boolean),
          metadata: parseJson(form.policyMetadataText, 'Policy metadata'),
        },
        metadata: parseJson(form.metadataText, 'Metadata'),
      };
    } catch (err) {
      setError(err.message);
      return;
    }
    setSaving(true);
    try {
      const result = agent
        ? await request(`v1/agents/${encodeURIComponent(agent.id)}`, { method: 'PATCH', body })
        : await request('v1/agents', { method: 'POST', body });
      setSaved(agent ? 'Saved.' : 'Created.');
      onSaved(result);
    } catch (err) {
      setError(describe(err));
    } finally {
      setSaving(false);
    }
  };

  const remove = async () => {
    if (!agent || !confirm(`Delete the agent “${agent.name}”? Its chats go with it.`)) return;
    try {
      await request(`v1/agents/${encodeURIComponent(agent.id)}`, { method: 'DELETE' });
      onDeleted();
    } catch (err) {
      setError(describe(err));
    }
  };

  const policy = form.runtime_policy;
  return html`<form class="agent-form" onSubmit=${save} aria-label=${agent ? `Edit ${agent.name}` : 'New agent'}>
    ${!canEdit && html`<p class="banner info">Only admins change agents; you see this one read-only.</p>`}
    <div class="grid">
      <label class="field"><span>Name</span>
        <input name="name" required maxlength="200" value=${form.name} disabled=${disabled} onInput=${(e) => set({ name: e.currentTarget.value })} /></label>
      <label class="field"><span>Model</span>
        <input name="model" maxlength="300" placeholder="provider:model — empty: the server's default" value=${form.model} disabled=${disabled}
          onInput=${(e) => set({ model: e.currentTarget.value })} /></label>
      <label class="field"><span>Temperature <output>${Number(form.temperature).toFixed(1)}</output></span>
        <input name="temperature" type="range" min="0" max="2" step="0.1" value=${form.temperature} disabled=${disabled}
          onInput=${(e) => set({ temperature: e.currentTarget.value })} /></label>
      <label class="field"><span>Max tokens</span>
        <input name="max_tokens" type="number" min="1" max="1000000" value=${form.max_tokens} disabled=${disabled}
          onInput=${(e) => set({ max_tokens: e.currentTarget.value })} /></label>
    </div>
    <label class="field"><span>Description</span>
      <input name="description" maxlength="4000" value=${form.description} disabled=${disabled} onInput=${(e) => set({ description: e.currentTarget.value })} /></label>
    <label class="field"><span>System prompt</span>
      <textarea name="system_prompt" rows="6" value=${form.system_prompt} disabled=${disabled} onInput=${(e) => set({ system_prompt: e.currentTarget.value })}></textarea></label>

    <h3>Skills</h3>
    <${SkillsField} value=${form.skills} skills=${catalog.skills} disabled=${disabled} onChange=${(skills) => set({ skills })} />
    <h3>Tools</h3>
    <${Checklist} label="Tools" items=${catalog.tools} value=${form.tools} disabled=${disabled} onChange=${(tools) => set({ tools })} empty="No tools." />
    <h3>MCP servers</h3>
    <${Checklist} label="MCP servers" items=${catalog.mcp} value=${form.mcp_servers} disabled=${disabled}
      onChange=${(mcp_servers) => set({ mcp_servers })} empty=${catalog.mcpError || 'No MCP servers registered.'} />

    <h3>Runtime policy</h3>
    <div class="grid">
      <label class="field"><span>Max iterations</span>
        <input name="max_iterations" type="number" min="1" value=${policy.max_iterations} disabled=${disabled} onInput=${(e) => setPolicy({ max_iterations: e.currentTarget.value })} /></label>
      <label class="field"><span>Max re-plans</span>
        <input name="max_replan_attempts" type="number" min="0" value=${policy.max_replan_attempts} disabled=${disabled} onInput=${(e) => setPolicy({ max_replan_attempts: e.currentTarget.value })} /></label>
    </div>
    <div class="checks">
      <label><input type="checkbox" name="enable_parallel_execution" checked=${policy.enable_parallel_execution} disabled=${disabled} onChange=${(e) => setPolicy({ enable_parallel_execution: e.currentTarget.checked })} /> Run independent steps in parallel</label>
      <label><input type="checkbox" name="enable_delegation" checked=${policy.enable_delegation} disabled=${disabled} onChange=${(e) => setPolicy({ enable_delegation: e.currentTarget.checked })} /> May delegate to other agents</label>
      <label><input type="checkbox" name="require_approval_for_high_risk" checked=${policy.require_approval_for_high_risk} disabled=${disabled} onChange=${(e) => setPolicy({ require_approval_for_high_risk: e.currentTarget.checked })} /> A human approves high-risk steps</label>
    </div>
    <label class="field"><span>High-risk capabilities (comma-separated)</span>
      <input name="high_risk_tools" value=${form.highRiskText} disabled=${disabled} onInput=${(e) => set({ highRiskText: e.currentTarget.value })} /></label>
    <details class="advanced">
      <summary>Advanced: metadata (JSON)</summary>
      <label class="field"><span>Policy metadata (max_run_seconds, max_llm_tokens, step_timeout_seconds…)</span>
        <textarea name="policy_metadata" rows="3" class="mono" value=${form.policyMetadataText} disabled=${disabled} onInput=${(e) => set({ policyMetadataText: e.currentTarget.value })}></textarea></label>
      <label class="field"><span>Agent metadata</span>
        <textarea name="metadata" rows="5" class="mono" value=${form.metadataText} disabled=${disabled} onInput=${(e) => set({ metadataText: e.currentTarget.value })}></textarea></label>
    </details>
    ${error && html`<p class="error-text" role="alert">${error}</p>`}
    ${saved && html`<p class="ok-text" role="status">${saved}</p>`}
    ${canEdit &&
    html`<div class="buttons">
      <button type="submit" class="primary" disabled=${saving}>${saving ? 'Saving…' : agent ? 'Save changes' : 'Create agent'}</button>
      ${agent && html`<button type="button" class="danger" onClick=${remove}>Delete</button>`}
    </div>`}
  </form>`;
}

export function AgentsPage({ agentId }) {
  const [catalog, setCatalog] = useState(null);
  const [error, setError] = useState('');
  const list = agents.value;
  const canEdit = !!me.value && me.value.role === 'admin';

  useEffect(() => {
    loadAgents();
    Promise.all([
      request('v1/skills').catch((e) => ({ error: describe(e) })),
      request('v1/tools').catch(() => []),
      request('v1/mcp-servers').catch((e) => ({ error: describe(e) })),
    ]).then(([skills, tools, mcp]) => {
      setCatalog({
        skills: Array.isArray(skills) ? skills : [],
        tools: Array.isArray(tools) ? tools : [],
        mcp: Array.isArray(mcp) ? mcp : [],
        mcpError: Array.isArray(mcp) ? '' : mcp.error,
      });
      if (!Array.isArray(skills)) setError(skills.error);
    });
  }, []);

  const creating = agentId === 'new';
  const current = !creating && list ? list.find((a) => a.id === agentId) : null;
  return html`<main class="page agents-page" id="main" tabindex="-1">
    <div class="split">
      <nav class="agent-list" aria-label="Agents">
        <h1>Agents</h1>
        ${canEdit && html`<a class="button primary" href=${href('/agents/new')}>+ New agent</a>`}
        ${list === null ? html`<${Spinner} />` : ''}
        <ul>
          ${(list || []).map(
            (a) => html`<li key=${a.id}><a href=${href(`/agents/${a.id}`)} class=${a.id === agentId ? 'current' : ''} aria-current=${a.id === agentId ? 'page' : undefined}>
              <strong>${a.name}</strong><span class="muted">${a.model || 'default model'}</span></a></li>`,
          )}
        </ul>
      </nav>
      <section class="agent-detail">
        <${Banner}>${error}</${Banner}>
        ${!catalog && html`<${Spinner} />`}
        ${catalog && (creating || current) &&
        html`<div>
          <div class="detail-head">
            <h2>${creating ? 'New agent' : current.name}</h2>
            ${current && html`<button type="button" class="link" onClick=${() => {
              selectAgent(current.id);
              navigate('/chat');
            }}>Chat with it →</button>`}
          </div>
          <${AgentForm}
            key=${agentId}
            agent=${current}
            catalog=${catalog}
            canEdit=${canEdit}
            onSaved=${async (saved) => {
              await loadAgents();
              if (creating) navigate(`/agents/${saved.id}`);
            }}
            onDeleted=${async () => {
              await loadAgents();
              navigate('/agents');
            }}
          />
        </div>`}
        ${catalog && !creating && !current && html`<p class="muted">Pick an agent to see or change it${canEdit ? ', or create one' : ''}.</p>`}
      </section>
    </div>
  </main>`;
}
