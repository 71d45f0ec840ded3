import { api, query } from '../api.js';
import { command, confirmed, field, h, progress, showError, status, table, when } from '../ui.js';

const final = ['finished', 'aborted'];

/** One deployment, live while it runs: phases as progress bars, health-gate numbers, per-device statuses, and controls. */
export async function render(id, { every }) {
  const path = `/api/v1/deployments/${encodeURIComponent(id)}`;
  const body = h('div', { 'aria-live': 'polite' });
  async function refresh() {
    const [deployment, devices] = await Promise.all([api(path), api(`${path}/devices${query({ limit: 200 })}`)]);
    body.replaceChildren(...view(deployment, devices.data, path, refresh).flat());
    return deployment;
  }
  const first = await refresh();
  if (!final.includes(first.status)) every(2000, () => refresh().catch(() => {}));
  const releases = (await api('/api/v1/releases?limit=100')).data;
  return h('section', { 'aria-labelledby': 'deployment-title' },
    h('p', {}, h('a', { href: '#/deployments' }, '‹ Deployments')), h('h1', { id: 'deployment-title' }, `Deployment ${first.name}`), body,
    rollbackForm(path, first, releases));
}

/** Once a deployment is over, its devices that installed it can be given another release (the policy's by default). */
function rollbackForm(path, deployment, releases) {
  return h('form', { class: 'panel', 'aria-labelledby': 'rollback-title', onsubmit: async e => {
    e.preventDefault();
    const choice = new FormData(e.currentTarget).get('release');
    if (!(await confirmed('Roll back: every device that installed this deployment is offered the release chosen. Go ahead?'))) return;
    try {
      const [name, version] = choice ? JSON.parse(choice) : [];
      const rollback = await api(`${path}:rollback`, { method: 'POST', body: name ? { release: { name, version } } : {} });
      location.hash = `#/deployments/${encodeURIComponent(rollback.id)}`;
    } catch (error) { showError(error); }
  } },
    h('h2', { id: 'rollback-title' }, 'Roll back'),
    h('p', { class: 'muted' }, 'For a finished or aborted deployment: offer another release to the devices that installed this one.'),
    deployment.rolledBackBy ? h('p', {}, 'Rolled back by ', h('a', { href: `#/deployments/${encodeURIComponent(deployment.rolledBackBy)}` }, deployment.rolledBackBy)) : null,
    field('Release to roll back to', h('select', { name: 'release' }, h('option', { value: '' }, "the policy's rollback release"),
      releases.map(r => h('option', { value: JSON.stringify([r.name, r.version]) }, `${r.name} ${r.version}`)))),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'danger' }, 'Roll back…')));
}

function view(d, devices, path, refresh) {
  const s = d.statistics;
  const good = (s.success ?? 0) + (s['already-installed'] ?? 0);
  const failed = (s.failure ?? 0) + (s.aborted ?? 0) + (s.noartifact ?? 0) + (s.decommissioned ?? 0);
  const running = ['downloading', 'installing', 'rebooting'].reduce((n, k) => n + (s[k] ?? 0), 0);
  const health = d.progress?.health;
  const threshold = d.policy.failureThreshold;
  const gate = d.policy.healthGate;
  return [
    h('p', {}, 'Status ', status(d.status), d.statusReason ? h('span', { class: 'muted' }, ` — ${d.statusReason}`) : null),
    h('div', { class: 'actions' },
      command('Pause', () => api(`${path}:pause`, { method: 'POST' }), { refresh }),
      command('Resume', () => api(`${path}:resume`, { method: 'POST' }), { refresh }),
      command('Abort', () => api(`${path}:abort`, { method: 'POST' }), { kind: 'danger', refresh, confirm: `Abort deployment ${d.name}? Devices that have not finished will not install it.` })),
    progress('All devices', [{ name: 'succeeded', value: good }, { name: 'failed', value: failed, kind: 'bad' }, { name: 'in progress', value: running, kind: 'busy' }], d.deviceCount),
    h('h2', {}, 'Phases'),
    d.phases.map(p => progress(`Phase ${p.index + 1}${p.startAt ? ` (from ${when(p.startAt)})` : ''}`, [
      { name: 'succeeded', value: (p.statistics.success ?? 0) + (p.statistics['already-installed'] ?? 0) },
      { name: 'failed', value: (p.statistics.failure ?? 0) + (p.statistics.aborted ?? 0), kind: 'bad' },
      { name: 'in progress', value: ['downloading', 'installing', 'rebooting'].reduce((n, k) => n + (p.statistics[k] ?? 0), 0), kind: 'busy' }], p.size)),
    h('div', { class: 'grid' },
      h('div', { class: 'panel' }, h('h2', {}, 'Failure threshold'), threshold
        ? h('p', {}, `${threshold.action} when over ${threshold.percent} % of devices fail (after ${threshold.minDevices} have finished); now ${d.deviceCount ? (100 * failed / d.deviceCount).toFixed(1) : 0} %`)
        : h('p', { class: 'muted' }, 'None set.')),
      h('div', { class: 'panel' }, h('h2', {}, 'Health gate'), gate ? [
        h('p', {}, `${gate.metric} ${gate.op} ${gate.threshold}, watched ${gate.windowMinutes} min, at most ${gate.maxViolatingPercent} % violating`),
        health ? h('dl', { class: 'facts' },
          fact('Verdict', status(health.verdict)), fact('Phase', health.phase + 1), fact('Updated / reporting', `${health.updated} / ${health.reporting}`),
          fact('Violating', `${health.violating} (${health.violatingPercent.toFixed(1)} %)`),
          fact('Mean updated', health.updatedMean?.toFixed(2) ?? '—'), fact('Mean baseline', `${health.baselineMean?.toFixed(2) ?? '—'} (${health.baselineReporting} devices)`))
          : h('p', { class: 'muted' }, 'Not evaluated yet.')] : h('p', { class: 'muted' }, 'None set.'))),
    h('h2', {}, 'Devices'),
    table([
      { label: 'Serial', cell: r => h('a', { href: `#/devices/${encodeURIComponent(r.serial)}` }, r.serial) },
      { label: 'Status', cell: r => status(r.status) }, { label: 'Phase', cell: r => r.phase + 1 },
      { label: 'Attempts', cell: r => r.attempts, narrow: true }, { label: 'Last report', cell: r => when(r.lastReportAt), narrow: true },
    ], devices),
  ];
}

const fact = (name, value) => [h('dt', {}, name), h('dd', {}, value)];
