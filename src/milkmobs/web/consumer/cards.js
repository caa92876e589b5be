// @ts-check
// A video as a card: thumbnail (alt = title), title, who posted it, and its mob.
import { html } from '../vendor/htm-3.1.1-preact-standalone.module.js';
import { StatusBadge } from '../shared/ui.js';

/** @typedef {import('../shared/api.js').VideoView} VideoView */

/** @param {VideoView} video */
export function titleOf(video) {
  return video.title || 'Untitled video';
}

/** @param {{ video: VideoView, score?: number, showStatus?: boolean }} props */
export function VideoCard({ video, score, showStatus = false }) {
  const href = `#/videos/${encodeURIComponent(video.videoId)}`;
  const title = titleOf(video);
  return html`<li class="card">
    <a class="thumb" href=${href}>
      ${video.thumbnailUrl
        ? html`<img src=${video.thumbnailUrl} alt=${title} loading="lazy" width="320" height="180" />`
        : html`<span class="placeholder">no thumbnail yet<span class="visually-hidden">: ${title}</span></span>`}
    </a>
    <div class="body">
      <a class="title" href=${href}>${title}</a>
      <span class="meta">by ${video.userId}</span>
      ${video.mobId
        ? html`<span class="meta">mob: <a href=${`#/mobs/${encodeURIComponent(video.mobId)}`}>${video.mobName || video.mobId}</a></span>`
        : null}
      ${score !== undefined ? html`<span class="meta">similarity ${score.toFixed(2)}</span>` : null}
      ${showStatus && video.status ? html`<span><${StatusBadge} status=${video.status} /></span>` : null}
    </div>
  </li>`;
}

/** @param {{ videos: VideoView[], empty: string }} props */
export function VideoCards({ videos, empty }) {
  if (!videos.length) return html`<p class="muted">${empty}</p>`;
  return html`<ul class="cards">${videos.map((video) => html`<${VideoCard} key=${video.videoId} video=${video} />`)}</ul>`;
}
