import { api, query } from '../api.js';
import { command, h, progress, status, table, when } from '../ui.js';

const final = ['succeeded', 'failed', 'partially_failed', 'canceled'];

/** One bulk action, live while it runs: delivered, confirmed, failed and timed out; pause, resume and cancel. */
export async function render(id, { every }) {
  const path = `/api/v1/actions/${encodeURIComponent(id)}`;
  const body = h('div', { 'aria-live': 'polite' });
  async function refresh() {
    const [action, devices] = await Promise.all([api(path), api(`${path}/devices${query({ limit: 200 })}`)]);
    const p = action.progress;
    body.replaceChildren(
      h('p', {}, 'Status ', status(action.status), h('span', { class: 'muted' },
        ` — batches of ${action.rollout.batchSize}, ${action.rollout.batchDelaySeconds} s apart; expires ${when(action.expiresAt)}`)),
      h('div', { class: 'actions' },
        command('Pause', () => api(`${path}:pause`, { method: 'POST' }), { refresh }),
        command('Resume', () => api(`${path}:resume`, { method: 'POST' }), { refresh }),
        command('Cancel', () => api(`${path}:cancel`, { method: 'POST' }), { kind: 'danger', refresh, confirm: 'Cancel this action? Devices that have not received it will not.' })),
      progress('Delivered', [{ name: 'delivered', value: p.delivered, kind: 'busy' }], p.total),
      progress('Confirmed', [{ name: 'confirmed', value: p.succeeded }, { name: 'failed', value: p.failed, kind: 'bad' },
        { name: 'timed out', value: p.timedOut, kind: 'bad' }, { name: 'canceled', value: p.canceled, kind: 'bad' }], p.total),
      h('h2', {}, 'Devices'),
      table([
        { label: 'Serial', cell: r => h('a', { href: `#/devices/${encodeURIComponent(r.serial)}` }, r.serial) },
        { label: 'Status', cell: r => status(r.status) }, { label: 'Delivered', cell: r => when(r.deliveredAt), narrow: true },
        { label: 'Answered', cell: r => when(r.succeededAt ?? r.failedAt ?? r.timedOutAt ?? r.canceledAt) },
        { label: 'Result', cell: r => r.screenshotUrl ? h('a', { href: r.screenshotUrl }, 'screenshot') : r.result ?? '—', narrow: true },
      ], devices.data));
    return action;
  }
  const first = await refresh();
  if (!final.includes(first.status)) every(2000, () => refresh().catch(() => {}));
  return h('section', { 'aria-labelledby': 'action-title' },
    h('p', {}, h('a', { href: '#/actions' }, '‹ Bulk actions')), h('h1', { id: 'action-title' }, `Action ${first.type}`), body);
}
