import { api, query } from '../api.js';
import { command, h, status, table, when } from '../ui.js';

/** The task hub's instances for this tenant: runtime status, custom status (progress), and suspend / resume / terminate. */
export async function render(_, { every }) {
  const list = h('div', { 'aria-live': 'polite' });
  async function refresh() {
    const instances = await api(`/api/v1/orchestrations${query({ limit: 100 })}`);
    list.replaceChildren(table([
      { label: 'Instance', cell: o => h('code', {}, o.instanceId) },
      { label: 'Name', cell: o => o.name, narrow: true },
      { label: 'Runtime status', cell: o => status(o.runtimeStatus) },
      { label: 'Custom status', cell: o => summary(o.customStatus) },
      { label: 'Updated', cell: o => when(o.lastUpdatedTime), narrow: true },
      { label: 'Control', cell: o => ['Running', 'Pending', 'Suspended'].includes(o.runtimeStatus) ? h('div', { class: 'actions' },
        o.runtimeStatus === 'Suspended'
          ? command('Resume', () => api(`/api/v1/orchestrations/${encodeURIComponent(o.instanceId)}:resume`, { method: 'POST', body: {} }), { refresh })
          : command('Suspend', () => api(`/api/v1/orchestrations/${encodeURIComponent(o.instanceId)}:suspend`, { method: 'POST', body: {} }), { refresh }),
        command('Terminate', () => api(`/api/v1/orchestrations/${encodeURIComponent(o.instanceId)}:terminate`, { method: 'POST', body: {} }),
          { kind: 'danger', refresh, confirm: `Terminate ${o.instanceId}? It stops for good.` })) : '—' },
    ], instances.data, 'Orchestrations'));
  }
  await refresh();
  every(3000, () => refresh().catch(() => {}));
  return h('section', { 'aria-labelledby': 'orchestrations-title' }, h('h1', { id: 'orchestrations-title' }, 'Orchestrations'), list);
}

function summary(custom) {
  if (!custom || typeof custom !== 'object') return custom ?? '—';
  const parts = [custom.status, custom.phaseIndex !== undefined ? `phase ${custom.phaseIndex + 1} of ${custom.phases}` : null, custom.next];
  return parts.filter(Boolean).join(' · ') || JSON.stringify(custom);
}
