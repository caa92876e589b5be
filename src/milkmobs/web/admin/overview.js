// @ts-check
// Overview: totals per status, active mobs, the average campaign score and the last hour's uploads.
import { html, useEffect } from '../vendor/htm-3.1.1-preact-standalone.module.js';
import { get } from '../shared/api.js';
import { ErrorNotice, Loading, percent, useLoad } from '../shared/ui.js';
import { asAdmin } from './auth.js';

/** @param {number | null | undefined} seconds */
function duration(seconds) {
  if (seconds === null || seconds === undefined) return '—';
  return seconds < 120 ? `${seconds.toFixed(1)} s` : `${(seconds / 60).toFixed(1)} min`;
}

/** @param {{ label: string, value: string | number, href?: string }} props */
function Tile({ label, value, href }) {
  return html`<div class="tile">
    <dt>${href ? html`<a href=${href}>${label}</a>` : label}</dt>
    <dd>${value}</dd>
  </div>`;
}

export function OverviewPage() {
  useEffect(() => { document.title = 'Overview · milkmobs admin'; }, []);
  const stats = useLoad((signal) => asAdmin((headers) => get('/admin/stats', { headers, signal })), []);
  const data = stats.data;
  if (stats.error) return html`<h1>Overview</h1><${ErrorNotice} error=${stats.error} />`;
  if (!data) return html`<h1>Overview</h1><${Loading} />`;
  const count = (/** @type {string} */ status) => (data.byStatus || {})[status] || 0;
  const waiting = count('pending_upload') + count('uploaded');
  return html`<h1>Overview</h1>
    <h2>Videos by status</h2>
    <dl class="tiles">
      <${Tile} label="Validated" value=${count('validated')} href="#/videos?status=validated" />
      <${Tile} label="Rejected" value=${count('rejected')} href="#/videos?status=rejected" />
      <${Tile} label="Processing" value=${count('processing')} href="#/videos?status=processing" />
      <${Tile} label="Failed" value=${count('failed')} href="#/videos?status=failed" />
      <${Tile} label="Waiting for analysis" value=${waiting} />
      <${Tile} label="All videos" value=${data.totalVideos || 0} href="#/videos" />
    </dl>
    <h2>Activity</h2>
    <dl class="tiles">
      <${Tile} label="Active mobs" value=${data.activeMobs || 0} href="#/mobs" />
      <${Tile} label="Average score" value=${data.averageValidationScore === null || data.averageValidationScore === undefined ? '—' : percent(data.averageValidationScore)} />
      <${Tile} label="Videos per hour" value=${`${data.videosLastHour || 0}${data.videosLastHourCapped ? '+' : ''}`} />
      <${Tile} label="Average time to validate" value=${duration(data.averageSecondsToValidate)} />
    </dl>
    <p class="hint">Videos per hour: the videos submitted during the last hour.</p>
    <div class="form-actions"><button type="button" class="secondary" onClick=${stats.reload}>Refresh</button></div>`;
}
