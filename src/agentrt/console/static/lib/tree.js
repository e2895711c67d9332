// The conversation tree of GET /v1/sessions/{id}/messages: every message with its
// children; a branch is a path root → leaf. Editing or regenerating adds a sibling.

/** Build lookups; message objects of `previous` that did not change are reused (cheap re-renders). */
export function buildTree(body, previous) {
  const byId = new Map();
  const roots = [];
  for (const message of body.messages) {
    const old = previous && previous.byId.get(message.id);
    const same =
      old && old.content === message.content && old.children.length === message.children.length &&
      old.children.every((id, i) => id === message.children[i]);
    const kept = same ? old : message;
    byId.set(message.id, kept);
    if (!message.parent_id) roots.push(message.id);
  }
  return { byId, roots };
}

/** Ids root → `id`. */
export function pathTo(tree, id) {
  const path = [];
  let current = id ? tree.byId.get(id) : null;
  while (current) {
    path.unshift(current.id);
    current = current.parent_id ? tree.byId.get(current.parent_id) : null;
  }
  return path;
}

export function siblingsOf(tree, message) {
  if (!message.parent_id) return tree.roots;
  const parent = tree.byId.get(message.parent_id);
  return parent ? parent.children : [message.id];
}

/** The leaf reached from `id` going down: the remembered choice at each fork, else the newest child. */
export function leafFrom(tree, id, remembered) {
  let current = tree.byId.get(id);
  while (current && current.children.length) {
    const chosen = remembered.get(current.id);
    const next = chosen && current.children.includes(chosen) ? chosen : current.children[current.children.length - 1];
    current = tree.byId.get(next);
  }
  return current ? current.id : id;
}
