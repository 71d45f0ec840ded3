import { api, query } from '../api.js';
import { command, field, fields, h, pager, showError, status, table, when } from '../ui.js';

const statuses = ['accepted', 'pending', 'preauthorized', 'rejected', 'noauth', 'decommissioned'];

/** Devices with the API's filters and paging, counts by status, and the admission queue. */
export async function render() {
  const view = h('section', { 'aria-labelledby': 'fleet-title' }, h('h1', { id: 'fleet-title' }, 'Fleet'));
  const counts = h('ul', { class: 'stats', 'aria-label': 'Devices by status' });
  const admission = h('div');
  const list = h('div');
  let filters = {};

  async function loadCounts() {
    const figures = await Promise.all(statuses.map(s => api(`/api/v1/device-auth/count${query({ status: s })}`).then(r => [s, r.count])));
    counts.replaceChildren(...figures.map(([s, n]) => h('li', {}, h('b', {}, n), s)));
  }

  async function loadAdmission() {
    const pending = await api('/api/v1/device-auth?status=pending&limit=50');
    admission.replaceChildren(h('h2', {}, `Admission queue (${pending.data.length}${pending.nextPage ? '+' : ''})`), table([
      { label: 'Serial', cell: a => a.serial },
      { label: 'Identity', cell: a => JSON.stringify(a.identity), narrow: true },
      { label: 'Key', cell: a => a.keyType, narrow: true },
      { label: 'Asked', cell: a => when(a.createdAt) },
      { label: 'Decision', cell: a => h('div', { class: 'actions' },
        command('Accept', () => decide(a, 'accepted'), { kind: 'primary', refresh: reload }),
        command('Reject', () => decide(a, 'rejected'), { kind: 'danger', confirm: `Reject device ${a.serial}? It will not be able to sign in.`, refresh: reload })) },
    ], pending.data));
  }

  const decide = (authSet, decision) =>
    api(`/api/v1/devices/${encodeURIComponent(authSet.serial)}/auth/${encodeURIComponent(authSet.id)}/status`, { method: 'PUT', body: { status: decision } });

  async function loadDevices(page = {}) {
    const { attribute, ...rest } = filters;
    const attr = /^(attr\.[^=]+)=(.+)$/.exec(attribute ?? '');
    const devices = await api(`/api/v1/devices${query({ ...rest, ...(attr ? { [attr[1]]: attr[2] } : {}), limit: 25, ...page })}`);
    list.replaceChildren(table([
      { label: 'Serial', cell: d => h('a', { href: `#/devices/${encodeURIComponent(d.serial)}` }, d.serial) },
      { label: 'Status', cell: d => status(d.status) },
      { label: 'Group', cell: d => d.group },
      { label: 'Type', cell: d => d.deviceType ?? '—', narrow: true },
      { label: 'Release', cell: d => d.release ?? '—' },
      { label: 'Tags', cell: d => d.tags.join(', '), narrow: true },
      { label: 'Last seen', cell: d => when(d.lastSeen) },
    ], devices.data, 'Devices'), pager(devices, loadDevices));
  }

  const form = h('form', { class: 'filters panel', 'aria-label': 'Filter devices', onsubmit: async e => {
    e.preventDefault();
    filters = fields(e.currentTarget);
    if (filters.lastSeenSince) filters.lastSeenSince = new Date(filters.lastSeenSince).toISOString();
    await loadDevices().catch(showError);
  } },
    field('Group', h('input', { name: 'group' })),
    field('Tag', h('input', { name: 'tag' })),
    field('Status', h('select', { name: 'status' }, h('option', { value: '' }, 'any'), statuses.map(s => h('option', {}, s)))),
    field('Release', h('input', { name: 'release' })),
    field('Seen since', h('input', { name: 'lastSeenSince', type: 'datetime-local' })),
    field('Attribute (attr.scope.name=op:value)', h('input', { name: 'attribute', placeholder: 'attr.inventory.os=eq:linux' })),
    h('button', { type: 'submit', class: 'primary' }, 'Filter'));

  async function reload() { await Promise.all([loadCounts(), loadAdmission(), loadDevices()]); }
  await reload();
  view.append(counts, form, list, admission);
  return view;
}
