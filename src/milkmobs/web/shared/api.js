// @ts-check
// The pages' one way to the HTTP API: where it is (config.json), typed calls, and its error shape.
// Types come from docs/openapi.json (openapi-typescript), so a field the API lacks is a lint error.

/** @typedef {import('milkmobs-api').paths} Paths */
/** @typedef {import('milkmobs-api').components['schemas']} Schemas */
/** @typedef {Schemas['VideoView']} VideoView */
/** @typedef {Schemas['VideoStatus']} VideoStatus */
/** @typedef {Schemas['Mob']} Mob */
/** @typedef {Schemas['ValidationResult']} ValidationResult */
/** @typedef {Schemas['ExecutionRecord']} ExecutionRecord */
/** @typedef {Schemas['StepRecord']} StepRecord */
/** @typedef {Schemas['UploadTicket']} UploadTicket */

/**
 * What config.json says: `milkmobs serve` answers it pointing at itself, `deploy/` writes it next to
 * the published files. Extra keys (sign-in settings) are read by the pages that need them.
 * @typedef {{ apiUrl: string } & Record<string, unknown>} Config
 */

/**
 * @template {keyof Paths} P
 * @typedef {Paths[P] extends { get: { parameters: { query?: infer Q } } } ? Q : never} GetQuery
 */
/**
 * @template {keyof Paths} P
 * @typedef {Paths[P] extends { get: { parameters: { path?: infer R } } } ? R : never} GetPath
 */
/**
 * @template T
 * @typedef {T extends { responses: { 200: { content: { 'application/json': infer R } } } } ? R
 *   : T extends { responses: { 201: { content: { 'application/json': infer R } } } } ? R : never} Answer
 */
/**
 * @template {keyof Paths} P
 * @template {string} M
 * @typedef {Paths[P] extends Record<M, infer O> ? O : never} Operation
 */
/**
 * @template O
 * @typedef {O extends { requestBody?: { content: { 'application/json': infer B } } } ? B : never} Body
 */

/** An error answered by the API (`{error: {code, message}}`) or met on the way to it. */
export class ApiError extends Error {
  /**
   * @param {number} status HTTP status (0: the server could not be reached)
   * @param {string} code
   * @param {string} message
   * @param {string | null} [field]
   */
  constructor(status, code, message, field = null) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.field = field;
  }
}

/** @type {Promise<Config> | null} */
let configLoad = null;

/** config.json from the site's root (this module lives in /shared/), read once per page load
 * (the page preloads it; the server marks it no-cache, so a changed API address is seen at once). */
export function loadConfig() {
  if (configLoad === null) {
    const url = new URL('../config.json', import.meta.url);
    configLoad = fetch(url).then(async (answer) => {
      if (!answer.ok) throw new ApiError(answer.status, 'config_unavailable', `Could not read ${url}: HTTP ${answer.status}.`);
      const config = /** @type {Config} */ (await answer.json());
      if (typeof config.apiUrl !== 'string') throw new ApiError(0, 'config_invalid', `${url} has no apiUrl.`);
      return config;
    });
    configLoad.catch(() => { configLoad = null; }); // a later call tries again
  }
  return configLoad;
}

/**
 * Turns an error answer's body into an ApiError, whatever shape it has.
 * @param {number} status
 * @param {string} text
 */
export function errorFromBody(status, text) {
  try {
    const body = JSON.parse(text);
    if (body && body.error && typeof body.error.message === 'string') {
      return new ApiError(status, String(body.error.code || 'error'), body.error.message, body.error.field ?? null);
    }
  } catch {
    // not JSON (S3 answers XML): fall through to the raw text
  }
  const words = text.replace(/<[^>]*>/g, ' ').replace(/\s+/g, ' ').trim().slice(0, 300);
  return new ApiError(status, 'http_' + status, words || `The server answered HTTP ${status}.`);
}

/**
 * @param {string} template e.g. '/videos/{videoId}'
 * @param {Record<string, string> | undefined} path
 * @param {Record<string, unknown> | undefined} query
 */
function buildPath(template, path, query) {
  let out = template.replace(/\{(\w+)\}/g, (_, name) => {
    const value = path && path[name];
    if (value === undefined) throw new Error(`${template}: no value for {${name}}`);
    return encodeURIComponent(value);
  });
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(query || {})) {
    if (value !== undefined && value !== null && value !== '') search.set(name, String(value));
  }
  const text = search.toString();
  return text ? `${out}?${text}` : out;
}

/**
 * @param {string} method
 * @param {string} relative
 * @param {{ body?: unknown, headers?: Record<string, string>, signal?: AbortSignal }} options
 * @returns {Promise<unknown>}
 */
async function call(method, relative, options) {
  const config = await loadConfig();
  const url = config.apiUrl.replace(/\/$/, '') + relative;
  /** @type {Record<string, string>} */
  const headers = { Accept: 'application/json', ...(options.headers || {}) };
  /** @type {RequestInit} */
  const init = { method, headers, signal: options.signal };
  if (options.body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(options.body);
  }
  let answer;
  try {
    answer = await fetch(url, init);
  } catch (error) {
    if (error instanceof DOMException && error.name === 'AbortError') throw error;
    throw new ApiError(0, 'unreachable', `Could not reach the API at ${config.apiUrl}: is the server running?`);
  }
  const text = await answer.text();
  if (!answer.ok) throw errorFromBody(answer.status, text);
  return text ? JSON.parse(text) : null;
}

/**
 * GET a route of the API, typed by its OpenAPI path.
 * @template {keyof Paths & string} P
 * @param {P} template
 * @param {{ path?: GetPath<P>, query?: GetQuery<P>, headers?: Record<string, string>, signal?: AbortSignal }} [options]
 * @returns {Promise<Answer<Operation<P, 'get'>>>}
 */
export async function get(template, options = {}) {
  const relative = buildPath(
    template,
    /** @type {Record<string, string> | undefined} */ (options.path),
    /** @type {Record<string, unknown> | undefined} */ (options.query),
  );
  return /** @type {Promise<Answer<Operation<P, 'get'>>>} */ (call('GET', relative, options));
}

/**
 * POST a JSON body to a route of the API.
 * @template {keyof Paths & string} P
 * @param {P} template
 * @param {Body<Operation<P, 'post'>>} body
 * @param {{ headers?: Record<string, string>, signal?: AbortSignal }} [options]
 * @returns {Promise<Answer<Operation<P, 'post'>>>}
 */
export async function post(template, body, options = {}) {
  return /** @type {Promise<Answer<Operation<P, 'post'>>>} */ (call('POST', template, { ...options, body }));
}

/**
 * DELETE a route of the API.
 * @template {keyof Paths & string} P
 * @param {P} template
 * @param {{ path?: Record<string, string>, headers?: Record<string, string>, signal?: AbortSignal }} [options]
 * @returns {Promise<Answer<Operation<P, 'delete'>>>}
 */
export async function del(template, options = {}) {
  const relative = buildPath(template, options.path, undefined);
  return /** @type {Promise<Answer<Operation<P, 'delete'>>>} */ (call('DELETE', relative, options));
}

/**
 * Sends a file through a signed upload form (S3's presigned POST, or `milkmobs serve`'s /uploads),
 * reporting real progress. The form's fields go first and the file last, as S3 requires.
 * @param {UploadTicket} ticket
 * @param {File} file
 * @param {(sent: number, total: number) => void} onProgress
 * @returns {Promise<void>}
 */
export function uploadFile(ticket, file, onProgress) {
  return new Promise((resolve, reject) => {
    const form = new FormData();
    for (const [name, value] of Object.entries(ticket.fields || {})) form.append(name, String(value));
    form.append('file', file);
    const request = new XMLHttpRequest();
    request.open(ticket.method || 'POST', ticket.url);
    request.upload.onprogress = (event) => {
      if (event.lengthComputable) onProgress(event.loaded, event.total);
    };
    request.onload = () => {
      if (request.status >= 200 && request.status < 300) {
        onProgress(file.size, file.size);
        resolve();
      } else {
        reject(errorFromBody(request.status, request.responseText));
      }
    };
    request.onerror = () => reject(new ApiError(0, 'upload_unreachable', `The upload to ${ticket.url} did not get through.`));
    request.send(form);
  });
}
