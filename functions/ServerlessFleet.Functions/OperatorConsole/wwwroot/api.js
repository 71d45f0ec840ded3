// Every call goes to this app's API with the operator's key, kept in this tab's session storage only.
const KEY = 'serverlessfleet.apiKey';

export const session = {
  get key() { return sessionStorage.getItem(KEY); },
  set key(value) { value ? sessionStorage.setItem(KEY, value) : sessionStorage.removeItem(KEY); },
};

/** An error answer of the API, in its error shape: type, message, request id and field errors. */
export class ApiError extends Error {
  constructor(status, body) {
    super(body?.message || `The API answered ${status}.`);
    this.status = status;
    this.type = body?.type || 'error';
    this.requestId = body?.requestId || null;
    this.errors = body?.errors || null;
  }
  get needsKey() { return this.status === 401 || this.status === 403; }
}

const listeners = new Set();
/** Called with each ApiError of 401 or 403: the page asks for a key again. */
export function onKeyRefused(listener) { listeners.add(listener); }

async function answer(status, text) {
  let body = null;
  try { body = text ? JSON.parse(text) : null; } catch { body = { message: text }; }
  if (status >= 200 && status < 300) return body;
  const error = new ApiError(status, body);
  if (error.needsKey) listeners.forEach(l => l(error));
  throw error;
}

/** A JSON call: GET by default; `body` is sent as JSON. */
export async function api(path, { method = 'GET', body, headers = {} } = {}) {
  const init = { method, headers: { Accept: 'application/json', Authorization: `Bearer ${session.key ?? ''}`, ...headers } };
  if (body !== undefined) { init.body = JSON.stringify(body); init.headers['Content-Type'] = 'application/json'; }
  let response;
  try { response = await fetch(path, init); }
  catch { throw new ApiError(0, { message: 'The API could not be reached; is the app running?' }); }
  return answer(response.status, await response.text());
}

/** A query string of the values set, repeated keys for arrays. */
export function query(values) {
  const q = new URLSearchParams();
  for (const [name, value] of Object.entries(values)) {
    for (const v of [].concat(value ?? [])) if (v !== '' && v !== null && v !== undefined) q.append(name, v);
  }
  const text = q.toString();
  return text ? `?${text}` : '';
}

/** A multipart upload with progress (0–1), which fetch cannot report. */
export function upload(path, form, onProgress) {
  return new Promise((resolve, reject) => {
    const request = new XMLHttpRequest();
    request.open('POST', path);
    request.setRequestHeader('Authorization', `Bearer ${session.key ?? ''}`);
    request.setRequestHeader('Idempotency-Key', crypto.randomUUID());
    request.upload.onprogress = e => e.lengthComputable && onProgress(e.loaded / e.total);
    request.onload = () => answer(request.status, request.responseText).then(resolve, reject);
    request.onerror = () => reject(new ApiError(0, { message: 'The upload was interrupted.' }));
    request.send(form);
  });
}
