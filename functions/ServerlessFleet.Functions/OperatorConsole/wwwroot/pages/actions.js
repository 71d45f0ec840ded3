import { api, query } from '../api.js';
import { field, fields, h, pager, showError, status, table, when } from '../ui.js';

const types = ['reboot', 'refresh', 'check-update', 'shutdown', 'app-restart', 'display-power-on', 'display-power-off', 'screenshot'];

/** Bulk actions with their progress, and a form that sends one, optionally in rolling batches. */
export async function render() {
  const list = h('div');
  async function load(page = {}) {
    const actions = await api(`/api/v1/actions${query({ limit: 50, ...page })}`);
    list.replaceChildren(table([
      { label: 'Action', cell: a => h('a', { href: `#/actions/${encodeURIComponent(a.id)}` }, a.type) },
      { label: 'Status', cell: a => status(a.status) },
      { label: 'Devices', cell: a => a.progress.total },
      { label: 'Delivered', cell: a => a.progress.delivered, narrow: true },
      { label: 'Confirmed', cell: a => a.progress.succeeded },
      { label: 'Failed / timed out', cell: a => `${a.progress.failed} / ${a.progress.timedOut}`, narrow: true },
      { label: 'Created', cell: a => when(a.createdAt) },
    ], [...actions.data].reverse(), 'Bulk actions, newest first'), pager(actions, load));
  }
  await load();
  const form = h('form', { class: 'panel', 'aria-labelledby': 'new-action', onsubmit: async e => {
    e.preventDefault();
    const f = fields(e.currentTarget);
    const devices = f.devices ? f.devices.split(/[\s,]+/).filter(Boolean) : null;
    try {
      const created = await api('/api/v1/actions', { method: 'POST', headers: { 'Idempotency-Key': crypto.randomUUID() }, body: {
        type: f.type, ...(devices ? { devices } : { group: f.group || undefined }),
        rollout: f.batchSize ? { batchSize: Number(f.batchSize), batchDelaySeconds: Number(f.batchDelay || 0) } : undefined,
      } });
      location.hash = `#/actions/${encodeURIComponent(created.id)}`;
    } catch (error) { showError(error); }
  } },
    h('h2', { id: 'new-action' }, 'New bulk action'),
    h('div', { class: 'filters' },
      field('Type', h('select', { name: 'type' }, types.map(t => h('option', {}, t)))),
      field('Group', h('input', { name: 'group' })),
      field('or devices (serials)', h('input', { name: 'devices' })),
      field('Batch size', h('input', { name: 'batchSize', type: 'number', min: 1 })),
      field('Seconds between batches', h('input', { name: 'batchDelay', type: 'number', min: 0 }))),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Send')));
  return h('section', { 'aria-labelledby': 'actions-title' }, h('h1', { id: 'actions-title' }, 'Bulk actions'), list, form);
}
