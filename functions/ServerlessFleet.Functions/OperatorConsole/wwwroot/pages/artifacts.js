import { api, query, upload } from '../api.js';
import { field, h, pager, showError, table, when } from '../ui.js';

/** The artifact registry, and uploads (native files with their metadata, or .mender artifacts that carry their own) with progress. */
export async function render() {
  const list = h('div');
  async function load(page = {}) {
    const artifacts = await api(`/api/v1/artifacts${query({ limit: 50, ...page })}`);
    list.replaceChildren(table([
      { label: 'Name', cell: a => a.name }, { label: 'Version', cell: a => a.version }, { label: 'Kind', cell: a => a.kind, narrow: true },
      { label: 'Device types', cell: a => a.deviceTypesCompatible.join(', ') },
      { label: 'Size', cell: a => `${(a.size / 1024).toFixed(1)} KiB`, narrow: true }, { label: 'Uploaded', cell: a => when(a.createdAt), narrow: true },
    ], artifacts.data, 'Artifacts'), pager(artifacts, load));
  }
  await load();
  const bar = h('progress', { max: 1, value: 0, 'aria-label': 'Upload progress', hidden: true });
  const said = h('p', { class: 'muted', 'aria-live': 'polite' });
  const form = h('form', { class: 'panel', 'aria-labelledby': 'upload-title', onsubmit: async e => {
    e.preventDefault();
    const data = new FormData(e.currentTarget);
    const file = data.get('file');
    // A .mender artifact names itself; a native file needs the metadata fields.
    if (file?.name?.endsWith('.mender')) for (const name of ['name', 'version', 'kind', 'deviceTypesCompatible']) data.delete(name);
    bar.hidden = false;
    bar.value = 0;
    try {
      const created = await upload('/api/v1/artifacts', data, share => { bar.value = share; said.textContent = `${Math.round(share * 100)} % sent`; });
      said.textContent = `Uploaded ${created.name} ${created.version} (sha256 ${created.sha256.slice(0, 12)}…).`;
      e.target.reset();
      await load();
    } catch (error) { said.textContent = ''; showError(error); } finally { bar.hidden = true; }
  } },
    h('h2', { id: 'upload-title' }, 'Upload an artifact'),
    h('div', { class: 'filters' },
      field('File (.mender or a native image)', h('input', { name: 'file', type: 'file', required: true })),
      field('Name', h('input', { name: 'name' })), field('Version', h('input', { name: 'version' })),
      field('Kind', h('select', { name: 'kind' }, ['firmware', 'os', 'app', 'config'].map(k => h('option', {}, k)))),
      field('Device types (comma separated)', h('input', { name: 'deviceTypesCompatible' }))),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Upload')), bar, said);
  return h('section', { 'aria-labelledby': 'artifacts-title' }, h('h1', { id: 'artifacts-title' }, 'Artifacts'), list, form);
}
