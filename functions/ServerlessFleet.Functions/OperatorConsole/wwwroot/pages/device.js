import { api, query } from '../api.js';
import { chart, field, h, number, status, table, when } from '../ui.js';

/** One device: identity, inventory, release, telemetry with a chart, action inbox, and why it got (or not) each update. */
export async function render(serial) {
  const path = `/api/v1/devices/${encodeURIComponent(serial)}`;
  const [device, attributes, latest, inbox, timeline] = await Promise.all([
    api(path), api(`${path}/attributes`), api(`${path}/telemetry/latest`),
    api(`${path}/actions${query({ limit: 50 })}`), api(`${path}/timeline${query({ limit: 100 })}`),
  ]);
  const numeric = latest.filter(s => typeof s.value === 'number').map(s => s.type);
  const history = h('div');
  async function showHistory(type) {
    const samples = await api(`${path}/telemetry${query({ type, limit: 200 })}`);
    history.replaceChildren(chart(type, samples.data.filter(s => typeof s.value === 'number').reverse().map(s => ({ at: s.timestamp, value: s.value }))));
  }
  if (numeric.length) await showHistory(numeric[0]);

  return h('section', { 'aria-labelledby': 'device-title' },
    h('p', {}, h('a', { href: '#/fleet' }, '‹ Fleet')),
    h('h1', { id: 'device-title' }, `Device ${device.serial}`),
    h('div', { class: 'grid' },
      h('div', { class: 'panel' }, h('h2', {}, 'Identity'), h('dl', { class: 'facts' },
        fact('Status', status(device.status)), fact('Name', device.name ?? '—'), fact('Group', device.group),
        fact('Device type', device.deviceType ?? '—'), fact('Hardware', device.hardwareVersion), fact('Tags', device.tags.join(', ') || '—'),
        fact('Last seen', when(device.lastSeen)), fact('Created', when(device.createdAt)))),
      h('div', { class: 'panel' }, h('h2', {}, 'Installed release'), h('p', { class: 'release' }, device.release ?? 'not reported'),
        h('h2', {}, 'Latest telemetry'), latest.length === 0 ? h('p', { class: 'muted' }, 'None yet.')
          : h('dl', { class: 'facts' }, latest.map(s => fact(s.type, `${s.values ? JSON.stringify(s.values) : number(s.value)} (${when(s.timestamp)})`))))),
    numeric.length ? h('div', { class: 'panel' }, h('h2', {}, 'History'),
      field('Metric', h('select', { onchange: e => showHistory(e.currentTarget.value) }, numeric.map(t => h('option', {}, t)))), history) : null,
    h('h2', {}, 'Inventory'),
    table([{ label: 'Scope', cell: a => a.scope }, { label: 'Name', cell: a => a.name }, { label: 'Value', cell: a => JSON.stringify(a.value) }],
      attributes.filter(a => a.scope !== 'identity').concat(attributes.filter(a => a.scope === 'identity'))),
    h('h2', {}, 'Action inbox'),
    table([
      { label: 'Seq', cell: e => e.seq }, { label: 'Action', cell: e => h('a', { href: `#/actions/${encodeURIComponent(e.actionId)}` }, e.type) },
      { label: 'Status', cell: e => status(e.status) }, { label: 'Created', cell: e => when(e.createdAt), narrow: true },
    ], inbox.data),
    h('h2', {}, 'Decisions'),
    h('p', { class: 'muted' }, 'Why this device got, or did not get, each update and action: newest first.'),
    h('ol', { class: 'timeline' }, timeline.data.map(e => h('li', {},
      h('strong', {}, e.decision), ' ', h('span', { class: 'muted' }, `${e.subject} `),
      h('a', { href: `#/${e.subject === 'deployment' ? 'deployments' : 'actions'}/${encodeURIComponent(e.subjectId)}` }, e.subjectId),
      h('div', {}, e.reason), h('div', { class: 'muted' }, when(e.at))))));
}

const fact = (name, value) => [h('dt', {}, name), h('dd', {}, value)];
