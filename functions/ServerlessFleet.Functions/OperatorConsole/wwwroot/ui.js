// Small DOM helpers: every datum goes in as text, never as markup.

/** An element with attributes (on* as listeners) and children (strings, nodes, arrays; null skipped). */
export function h(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes ?? {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith('on')) node.addEventListener(name.slice(2), value);
    else if (name === 'class') node.className = value;
    else node.setAttribute(name, value === true ? '' : value);
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

export const when = at => at ? new Date(at).toLocaleString() : '—';
/** A measurement as people read it: at most two decimals. */
export const number = value => typeof value === 'number' ? String(Math.round(value * 100) / 100) : String(value ?? '—');

const good = ['success', 'succeeded', 'finished', 'accepted', 'Completed', 'already-installed', 'delivered'];
const bad = ['failure', 'failed', 'aborted', 'rejected', 'Failed', 'Terminated', 'timed_out', 'partially_failed', 'canceled', 'decommissioned'];
export function status(value) {
  const kind = good.includes(value) ? 'good' : bad.includes(value) ? 'bad' : ['pending', 'paused', 'Suspended', 'Pending'].includes(value) ? '' : 'busy';
  return h('span', { class: `status ${kind}` }, value ?? '—');
}

/** A table of rows; each column has a label and a cell function. */
export function table(columns, rows, caption) {
  return h('div', { class: 'scroll' }, h('table', {},
    caption ? h('caption', { class: 'muted' }, caption) : null,
    h('thead', {}, h('tr', {}, columns.map(c => h('th', { scope: 'col', class: c.narrow ? 'hide-narrow' : null }, c.label)))),
    h('tbody', {}, rows.length === 0
      ? h('tr', {}, h('td', { colspan: columns.length, class: 'muted' }, 'Nothing to show.'))
      : rows.map(row => h('tr', {}, columns.map(c => h('td', { class: c.narrow ? 'hide-narrow' : null }, c.cell(row))))))));
}

/** A labelled bar of parts ([{value, kind}]) out of a total, also read out as text. */
export function progress(label, parts, total) {
  const done = parts.reduce((sum, p) => sum + p.value, 0);
  return h('div', { class: 'progress' },
    h('div', {}, `${label}: `, h('span', { class: 'muted' }, parts.map(p => `${p.value} ${p.name}`).join(' · '), ` of ${total}`)),
    h('div', { class: 'track', role: 'progressbar', 'aria-label': label, 'aria-valuemin': 0, 'aria-valuemax': total, 'aria-valuenow': done },
      parts.map(p => {
        // Set through the style object: the content security policy refuses style attributes.
        const fill = h('div', { class: `fill ${p.kind ?? ''}` });
        fill.style.width = `${total ? (100 * p.value / total) : 0}%`;
        return fill;
      })));
}

/** A line chart of [{at, value}] (oldest first) as inline SVG, with its range in words for screen readers. */
export function chart(label, points) {
  if (points.length === 0) return h('p', { class: 'muted' }, 'No samples yet.');
  const values = points.map(p => p.value);
  const [min, max] = [Math.min(...values), Math.max(...values)];
  const span = max - min || 1;
  const coords = points.map((p, i) => `${(i / Math.max(points.length - 1, 1)) * 300},${95 - ((p.value - min) / span) * 90}`).join(' ');
  const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  svg.setAttribute('viewBox', '0 0 300 100');
  svg.setAttribute('preserveAspectRatio', 'none');
  svg.setAttribute('class', 'chart');
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', `${label}: ${points.length} samples from ${number(min)} to ${number(max)}`);
  const line = document.createElementNS('http://www.w3.org/2000/svg', 'polyline');
  line.setAttribute('points', coords);
  line.setAttribute('vector-effect', 'non-scaling-stroke');
  svg.append(line);
  return h('figure', {}, svg, h('figcaption', { class: 'muted' }, `${label}: ${points.length} samples, ${number(min)} – ${number(max)}`));
}

/** Shows an API error with its message and request id, until the next page. */
export function showError(error) {
  const box = document.getElementById('errors');
  box.replaceChildren(h('div', { class: 'error' },
    h('strong', {}, error.status ? `${error.status} ${error.type}: ` : 'Error: '), error.message,
    error.errors ? h('ul', {}, Object.entries(error.errors).map(([field, messages]) => h('li', {}, `${field}: ${[].concat(messages).join(' ')}`))) : null,
    error.requestId ? h('div', { class: 'muted' }, 'Request id: ', h('code', {}, error.requestId)) : null));
}
export function clearErrors() { document.getElementById('errors').replaceChildren(); }

/** Asks before doing something that cannot be undone; resolves true when confirmed. */
export function confirmed(text) {
  const dialog = document.getElementById('confirm');
  document.getElementById('confirm-text').textContent = text;
  dialog.returnValue = '';
  dialog.showModal();
  return new Promise(resolve => dialog.addEventListener('close', () => resolve(dialog.returnValue === 'ok'), { once: true }));
}

/** A button that runs an API call, shows its error, and refreshes the page after it. */
export function command(label, run, { confirm, kind, refresh } = {}) {
  return h('button', { type: 'button', class: kind ?? null, onclick: async event => {
    if (confirm && !(await confirmed(confirm))) return;
    const button = event.currentTarget;
    button.disabled = true;
    try { await run(); clearErrors(); refresh?.(); } catch (error) { showError(error); } finally { button.disabled = false; }
  } }, label);
}

/** Previous / next buttons over the API's page tokens. */
export function pager(page, go) {
  return h('div', { class: 'actions' },
    h('button', { type: 'button', disabled: !page.prevPage, onclick: () => go({ before: page.prevPage }) }, '‹ Previous'),
    h('button', { type: 'button', disabled: !page.nextPage, onclick: () => go({ after: page.nextPage }) }, 'Next ›'));
}

/** Reads a form's fields into an object of trimmed strings. */
export function fields(form) {
  return Object.fromEntries([...new FormData(form)].map(([k, v]) => [k, typeof v === 'string' ? v.trim() : v]));
}

export function field(label, input) {
  const id = input.id || `f-${Math.random().toString(36).slice(2)}`;
  input.id = id;
  return h('div', {}, h('label', { for: id }, label), input);
}
