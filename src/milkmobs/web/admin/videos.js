// @ts-check
// Videos: every video in a table, filtered by status, a page at a time through the API's cursor.
import { html, useEffect, useState } from '../vendor/htm-3.1.1-preact-standalone.module.js';
import { get } from '../shared/api.js';
import { ErrorNotice, Loading, StatusBadge, percent, useLoad, useRoute, when } from '../shared/ui.js';
import { asAdmin } from './auth.js';

/** @typedef {import('../shared/api.js').VideoStatus} VideoStatus */

const PAGE_SIZE = 25;
/** @type {VideoStatus[]} */
const STATUSES = ['pending_upload', 'uploaded', 'processing', 'validated', 'rejected', 'failed'];

/** @param {string | null} value @returns {VideoStatus | undefined} */
function asStatus(value) {
  return STATUSES.find((status) => status === value);
}

export function VideosPage() {
  const route = useRoute();
  const status = asStatus(route.query.get('status'));
  const deleted = route.query.get('deleted');
  // The cursors of the pages seen so far for this filter: [first page (none), second, ...]; the last
  // is shown. A cursor only fits the query that made it, so another filter starts from the first page.
  const [paging, setPaging] = useState(
    /** @type {{ status: VideoStatus | undefined, cursors: (string | undefined)[] }} */ ({ status, cursors: [undefined] }),
  );
  const cursors = paging.status === status ? paging.cursors : [undefined];
  /** @param {(string | undefined)[]} list */
  const setCursors = (list) => setPaging({ status, cursors: list });
  useEffect(() => { document.title = 'Videos · milkmobs admin'; }, []);
  const cursor = cursors[cursors.length - 1];
  const page = useLoad(
    (signal) => asAdmin((headers) => get('/admin/videos', { query: { status, limit: PAGE_SIZE, cursor }, headers, signal })),
    [status, cursor],
  );
  /** @param {Event} event */
  const filter = (event) => {
    const value = /** @type {HTMLSelectElement} */ (event.currentTarget).value;
    location.hash = value ? `#/videos?status=${encodeURIComponent(value)}` : '#/videos';
  };
  const videos = page.data ? page.data.videos : [];
  const next = page.data ? page.data.nextCursor : null;
  return html`<h1>Videos</h1>
    ${deleted ? html`<p class="notice ok" role="status">Deleted “${deleted}”.</p>` : null}
    <div class="toolbar">
      <div>
        <label for="status-filter">Status</label>
        <select id="status-filter" value=${status || ''} onChange=${filter}>
          <option value="">All statuses</option>
          ${STATUSES.map((s) => html`<option value=${s}>${s.replace(/_/g, ' ')}</option>`)}
        </select>
      </div>
    </div>
    <${ErrorNotice} error=${page.error} />
    ${page.loading && !page.data ? html`<${Loading} />` : null}
    ${page.data && !videos.length
      ? html`<p class="muted">${status ? `No video is ${status.replace(/_/g, ' ')}.` : 'No video yet.'}</p>`
      : null}
    ${videos.length
      ? html`<div class="table-wrap" tabindex="0" role="region" aria-label="Videos">
          <table class="videos">
            <thead><tr><th scope="col">Title</th><th scope="col">Status</th><th scope="col">Score</th><th scope="col">User</th><th scope="col">Mob</th><th scope="col">Submitted</th></tr></thead>
            <tbody>
              ${videos.map(
                (video) => html`<tr key=${video.videoId}>
                  <td><a href=${`#/videos/${encodeURIComponent(video.videoId)}`}>${video.title || video.videoId}</a></td>
                  <td><${StatusBadge} status=${video.status || 'pending_upload'} /></td>
                  <td>${video.validation ? percent(video.validation.score) : '—'}</td>
                  <td>${video.userId}</td>
                  <td>${video.mobName || video.mobId || '—'}</td>
                  <td>${when(video.createdAt)}</td>
                </tr>`,
              )}
            </tbody>
          </table>
        </div>`
      : null}
    <nav class="pager" aria-label="Pages of videos">
      <span class="muted">Page ${cursors.length}</span>
      <button type="button" class="secondary" disabled=${cursors.length < 2 || page.loading}
        onClick=${() => setCursors(cursors.slice(0, -1))}>Previous page</button>
      <button type="button" class="secondary" disabled=${!next || page.loading}
        onClick=${() => next && setCursors([...cursors, next])}>Next page</button>
    </nav>`;
}
