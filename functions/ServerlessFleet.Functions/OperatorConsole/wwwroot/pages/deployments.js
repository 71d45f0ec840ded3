import { api, query } from '../api.js';
import { field, fields, h, pager, showError, status, table, when } from '../ui.js';

/** Deployments, newest first, with a status filter, and a form that starts one. */
export async function render() {
  const list = h('div');
  let filter = '';
  async function load(page = {}) {
    const deployments = await api(`/api/v1/deployments${query({ status: filter, limit: 25, ...page })}`);
    list.replaceChildren(table([
      { label: 'Name', cell: d => h('a', { href: `#/deployments/${encodeURIComponent(d.id)}` }, d.name) },
      { label: 'Status', cell: d => status(d.status) },
      { label: 'Release', cell: d => [...new Set(d.artifacts.map(a => `${a.name} ${a.version}`))].join(', ') },
      { label: 'Devices', cell: d => d.deviceCount },
      { label: 'Succeeded', cell: d => (d.statistics.success ?? 0) + (d.statistics['already-installed'] ?? 0), narrow: true },
      { label: 'Created', cell: d => when(d.createdAt), narrow: true },
    ], deployments.data, 'Deployments'), pager(deployments, load));
  }
  const releases = await api('/api/v1/releases?limit=100');
  const filterForm = h('form', { class: 'filters', 'aria-label': 'Filter deployments', onsubmit: e => { e.preventDefault(); filter = fields(e.currentTarget).status; load().catch(showError); } },
    field('Status', h('select', { name: 'status' }, h('option', { value: '' }, 'any'),
      ['scheduled', 'pending', 'inprogress', 'paused', 'finished', 'aborted'].map(s => h('option', {}, s)))),
    h('button', { type: 'submit' }, 'Filter'));
  await load();
  return h('section', { 'aria-labelledby': 'deployments-title' },
    h('h1', { id: 'deployments-title' }, 'Deployments'), filterForm, list, createForm(releases.data));
}

/** Release, target (a group or listed serials) and phases; the API validates, and its errors are shown as they are. */
function createForm(releases) {
  return h('form', { class: 'panel', 'aria-labelledby': 'new-deployment', onsubmit: async e => {
    e.preventDefault();
    const f = fields(e.currentTarget);
    const [name, version] = f.release ? JSON.parse(f.release) : [];
    const devices = f.devices ? f.devices.split(/[\s,]+/).filter(Boolean) : null;
    const phases = f.phases ? f.phases.split(/[\s,]+/).filter(Boolean).map(p => p === 'rest' ? {} : { batchPercent: Number(p) }) : undefined;
    try {
      const created = await api('/api/v1/deployments', { method: 'POST', headers: { 'Idempotency-Key': crypto.randomUUID() }, body: {
        name: f.name, release: name ? { name, version } : undefined,
        target: devices ? { devices } : f.group ? { group: f.group } : {},
        phases, policy: f.retries ? { retries: Number(f.retries) } : undefined,
      } });
      location.hash = `#/deployments/${encodeURIComponent(created.id)}`;
    } catch (error) { showError(error); }
  } },
    h('h2', { id: 'new-deployment' }, 'New deployment'),
    h('div', { class: 'filters' },
      field('Name', h('input', { name: 'name', required: true })),
      field('Release', h('select', { name: 'release', required: true }, h('option', { value: '' }, 'choose…'),
        releases.map(r => h('option', { value: JSON.stringify([r.name, r.version]) }, `${r.name} ${r.version} (${r.deviceTypes.join(', ')})`)))),
      field('Group', h('input', { name: 'group' })),
      field('or devices (serials)', h('input', { name: 'devices', placeholder: 'serial-1, serial-2' })),
      field('Phases (percent each, "rest" last)', h('input', { name: 'phases', placeholder: '10, 30, rest' })),
      field('Retries', h('input', { name: 'retries', type: 'number', min: 0, max: 10 }))),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Start deployment')));
}
