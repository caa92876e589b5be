// @ts-check
// Mobs: each mob's size, and a 2-D map of the videos coloured by mob (the API projects the
// embeddings; this page only draws the points it answers).
import { html, useEffect, useState } from '../vendor/htm-3.1.1-preact-standalone.module.js';
import { get, post } from '../shared/api.js';
import { ErrorNotice, Loading, percent, useLoad } from '../shared/ui.js';
import { asAdmin } from './auth.js';

/** @typedef {import('../shared/api.js').Mob} Mob */
/** @typedef {import('milkmobs-api').components['schemas']['MobMap']} MobMap */

// Okabe–Ito colours (told apart with most colour-vision deficiencies), then golden-angle hues.
const PALETTE = ['#0072b2', '#e69f00', '#009e73', '#cc79a7', '#56b4e9', '#d55e00', '#b8a200'];
const UNASSIGNED = '#8a8f98';

/** @param {number} index */
export function mobColour(index) {
  return index < PALETTE.length ? PALETTE[index] : `hsl(${Math.round((index * 137.508) % 360)} 65% 50%)`;
}

/** @param {number} n @param {string} one @param {string} many */
function count(n, one, many) {
  return `${n} ${n === 1 ? one : many}`;
}

const WIDTH = 600;
const HEIGHT = 400;
const MARGIN = 16;

/** @param {{ map: MobMap, mobs: Mob[] }} props */
function MapDrawing({ map, mobs }) {
  const points = map.points || [];
  if (!points.length) return html`<p class="muted">No validated video to place on the map yet.</p>`;
  const order = new Map(mobs.map((mob, index) => [mob.mobId, index]));
  const xs = points.map((p) => p.x);
  const ys = points.map((p) => p.y);
  const [minX, maxX, minY, maxY] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  // One scale for both axes: distances on the map stay proportional to distances in the projection.
  const scale = Math.min((WIDTH - 2 * MARGIN) / (maxX - minX || 1), (HEIGHT - 2 * MARGIN) / (maxY - minY || 1));
  const left = (WIDTH - (maxX - minX) * scale) / 2;
  const top = (HEIGHT - (maxY - minY) * scale) / 2;
  const shown = new Set(points.map((p) => p.mobId || ''));
  const variance = (map.explainedVariance || []).reduce((sum, share) => sum + share, 0);
  const label = `Map of ${count(points.length, 'video', 'videos')} in ${count([...shown].filter(Boolean).length, 'mob', 'mobs')}`
    + (variance ? `; the two axes keep ${percent(variance)} of the spread of their embeddings` : '');
  return html`<figure class="mob-map">
    <svg viewBox=${`0 0 ${WIDTH} ${HEIGHT}`} role="img" aria-label=${label}>
      <rect class="map-frame" x="0.5" y="0.5" width=${WIDTH - 1} height=${HEIGHT - 1} rx="8" />
      ${points.map((point) => {
        const index = point.mobId ? order.get(point.mobId) : undefined;
        const mob = index === undefined ? null : mobs[index];
        return html`<circle cx=${(left + (point.x - minX) * scale).toFixed(1)} cy=${(HEIGHT - top - (point.y - minY) * scale).toFixed(1)}
          r="5" fill=${index === undefined ? UNASSIGNED : mobColour(index)} class="map-point">
          <title>${point.title || point.videoId} · ${mob ? mob.name : 'no mob'}</title>
        </circle>`;
      })}
    </svg>
    <figcaption>
      ${label}${map.sampled < map.validatedTotal ? ` (the newest ${map.sampled} of ${map.validatedTotal} validated videos)` : ''}.
      <ul class="legend">
        ${mobs.filter((mob) => shown.has(mob.mobId)).map(
          (mob) => html`<li key=${mob.mobId}>
            <svg class="swatch" viewBox="0 0 10 10" aria-hidden="true"><circle cx="5" cy="5" r="5" fill=${mobColour(order.get(mob.mobId) || 0)} /></svg>
            ${mob.name}
          </li>`,
        )}
        ${shown.has('') ? html`<li><svg class="swatch" viewBox="0 0 10 10" aria-hidden="true"><circle cx="5" cy="5" r="5" fill=${UNASSIGNED} /></svg> not in a mob yet</li>` : null}
      </ul>
    </figcaption>
  </figure>`;
}

/** @param {{ mobs: Mob[] }} props */
function Sizes({ mobs }) {
  const largest = Math.max(1, ...mobs.map((mob) => mob.videoCount || 0));
  return html`<div class="table-wrap" tabindex="0" role="region" aria-label="Mob sizes">
    <table>
      <thead><tr><th scope="col">Mob</th><th scope="col">Videos</th><th scope="col">Hashtags</th></tr></thead>
      <tbody>
        ${mobs.map(
          (mob, index) => html`<tr key=${mob.mobId}>
            <td>
              <svg class="swatch" viewBox="0 0 10 10" aria-hidden="true"><circle cx="5" cy="5" r="5" fill=${mobColour(index)} /></svg>
              ${mob.name}
            </td>
            <td class="size-cell">
              <span>${mob.videoCount || 0}</span>
              <svg class="size-bar" viewBox="0 0 100 8" preserveAspectRatio="none" aria-hidden="true">
                <rect x="0" y="0" width=${(100 * (mob.videoCount || 0)) / largest} height="8" rx="2" fill=${mobColour(index)} />
              </svg>
            </td>
            <td>${(mob.exampleHashtags || []).map((tag) => '#' + tag.replace(/^#/, '')).join(' ') || '—'}</td>
          </tr>`,
        )}
      </tbody>
    </table>
  </div>`;
}

/** Runs the batch re-clustering now (what the hourly schedule does) and says what it changed.
 * @param {{ onDone: () => void }} props */
function Recluster({ onDone }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(/** @type {unknown} */ (null));
  const [done, setDone] = useState('');
  const run = async () => {
    setBusy(true);
    setError(null);
    setDone('');
    try {
      const report = await asAdmin((headers) => post('/admin/recluster', undefined, { headers }));
      setDone(
        `Re-clustered ${count(report.videos, 'video', 'videos')} into ${count(report.mobs, 'mob', 'mobs')}: `
          + `${(report.keptMobIds || []).length} kept, ${(report.newMobIds || []).length} new, `
          + `${(report.removedMobIds || []).length} removed.`,
      );
      onDone();
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  };
  return html`<div class="form-actions">
      <button type="button" disabled=${busy} onClick=${run}>${busy ? 'Re-clustering…' : 'Re-cluster'}</button>
      <span class="hint">Groups every validated video again now, as the hourly run does; mobs keep their ids where their members stay.</span>
    </div>
    <p role="status" class=${done ? 'notice ok' : 'visually-hidden'}>${done}</p>
    <${ErrorNotice} error=${error} />`;
}

export function MobsPage() {
  useEffect(() => { document.title = 'Mobs · milkmobs admin'; }, []);
  const mobs = useLoad((signal) => get('/mobs', { signal }), []);
  const map = useLoad((signal) => asAdmin((headers) => get('/admin/mobs/map', { headers, signal })), []);
  const list = mobs.data ? mobs.data.mobs : [];
  const reload = () => {
    mobs.reload();
    map.reload();
  };
  return html`<h1>Mobs</h1>
    <${Recluster} onDone=${reload} />
    <${ErrorNotice} error=${mobs.error} />
    ${mobs.loading && !mobs.data ? html`<${Loading} />` : null}
    ${mobs.data && !list.length ? html`<p class="muted">No mob yet: they form as validated videos arrive.</p>` : null}
    ${list.length ? html`<h2>Sizes</h2><${Sizes} mobs=${list} />` : null}
    <h2>Map</h2>
    <p class="hint">Each dot is a validated video, placed by the two main directions of its embedding; nearby dots look alike.</p>
    <${ErrorNotice} error=${map.error} />
    ${map.loading && !map.data ? html`<${Loading} label="Drawing the map…" />` : null}
    ${map.data && mobs.data ? html`<${MapDrawing} map=${map.data} mobs=${list} />` : null}`;
}
