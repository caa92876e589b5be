// @ts-check
// One video: the player on its signed URL, the analysis in short, the validation breakdown, its mob
// and similar videos (cosine neighbours).
import { html, useEffect } from '../vendor/htm-3.1.1-preact-standalone.module.js';
import { get } from '../shared/api.js';
import { ErrorNotice, Loading, StatusBadge, ValidationBreakdown, WhyNot, percent, useLoad, when } from '../shared/ui.js';
import { VideoCard, titleOf } from './cards.js';

/** @typedef {import('../shared/api.js').VideoView} VideoView */

/** @param {string[] | undefined} list */
function listed(list) {
  return list && list.length ? list.join(', ') : '—';
}

/** @param {{ video: VideoView }} props */
function Analysis({ video }) {
  const insights = video.insights;
  const media = video.media;
  return html`<dl class="facts">
    ${media ? html`<dt>Length</dt><dd>${media.durationSeconds.toFixed(1)} s${media.width ? ` · ${media.width}×${media.height}` : ''}${media.hasAudio ? '' : ' · no sound'}</dd>` : null}
    ${insights
      ? html`<dt>Participation</dt><dd>${percent(insights.participationScore)}</dd>
          <dt>Product shown</dt><dd>${insights.productShown ? 'yes' : 'no'}</dd>
          <dt>Product mentioned</dt><dd>${insights.productMentioned === null || insights.productMentioned === undefined ? 'no usable audio' : insights.productMentioned ? 'yes' : 'no'}</dd>
          <dt>Actions</dt><dd>${listed(insights.actions)}</dd>
          <dt>Objects</dt><dd>${listed(insights.objects)}</dd>
          <dt>Scenes</dt><dd>${listed(insights.scenes)}</dd>
          <dt>Text on screen</dt><dd>${listed(insights.onScreenText)}</dd>
          ${insights.rationale ? html`<dt>Summary</dt><dd>${insights.rationale}</dd>` : null}`
      : html`<dt>Analysis</dt><dd>not available yet</dd>`}
  </dl>`;
}

/** @param {{ videoId: string }} props */
function SimilarVideos({ videoId }) {
  const similar = useLoad((signal) => get('/search/similar', { query: { videoId, limit: 6 }, signal }), [videoId]);
  return html`<section aria-labelledby="similar-heading">
    <h2 id="similar-heading">Similar videos</h2>
    <${ErrorNotice} error=${similar.error} />
    ${similar.loading ? html`<${Loading} />` : null}
    ${similar.data && !(similar.data.results || []).length ? html`<p class="muted">No similar video yet.</p>` : null}
    ${similar.data && (similar.data.results || []).length
      ? html`<ul class="cards">
          ${(similar.data.results || []).map((r) => html`<${VideoCard} key=${r.video.videoId} video=${r.video} score=${r.score} />`)}
        </ul>`
      : null}
  </section>`;
}

/** @param {{ videoId: string }} props */
export function VideoPage({ videoId }) {
  const loaded = useLoad((signal) => get('/videos/{videoId}', { path: { videoId }, signal }), [videoId]);
  const video = loaded.data;
  useEffect(() => { document.title = `${video ? titleOf(video) : 'Video'} · milkmobs`; }, [video]);
  if (loaded.error) return html`<h1>Video</h1><${ErrorNotice} error=${loaded.error} />`;
  if (!video) return html`<h1>Video</h1><${Loading} />`;
  return html`<h1>${titleOf(video)}</h1>
    <div class="two-columns">
      <div>
        ${video.videoUrl
          ? html`<video class="player" controls preload="metadata" playsinline src=${video.videoUrl}
              poster=${video.thumbnailUrl || undefined} aria-label=${'Video: ' + titleOf(video)}></video>`
          : html`<p class="muted">The file is not playable yet.</p>`}
        <p>
          by ${video.userId} · <${StatusBadge} status=${video.status || 'pending_upload'} />
          ${video.mobId ? html` · mob <a href=${`#/mobs/${encodeURIComponent(video.mobId)}`}>${video.mobName || video.mobId}</a>` : null}
        </p>
        ${video.hashtags && video.hashtags.length ? html`<p class="muted">${video.hashtags.map((t) => '#' + t.replace(/^#/, '')).join(' ')}</p>` : null}
        ${video.description ? html`<p>${video.description}</p>` : null}
        <${WhyNot} video=${video} />
        <h2>Campaign validation</h2>
        <${ValidationBreakdown} validation=${video.validation} />
      </div>
      <div>
        <h2>Analysis</h2>
        <${Analysis} video=${video} />
        <p class="muted">Uploaded ${when(video.uploadedAt || video.createdAt)}</p>
      </div>
    </div>
    ${video.status === 'validated' || video.status === 'rejected'
      ? html`<${SimilarVideos} videoId=${video.videoId} />`
      : html`<h2>Similar videos</h2><p class="muted">Similar videos appear once this video is analysed.</p>`}`;
}
