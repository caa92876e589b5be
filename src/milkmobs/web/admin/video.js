// @ts-check
// One video for an administrator: the player, the workflow's steps as a timeline, the validation
// breakdown, and Delete (with a confirmation dialog; the API removes everything derived from it).
import { html, useEffect, useRef, useState } from '../vendor/htm-3.1.1-preact-standalone.module.js';
import { del, get } from '../shared/api.js';
import { ErrorNotice, Loading, StatusBadge, ValidationBreakdown, WhyNot, useLoad, when, words } from '../shared/ui.js';
import { asAdmin } from './auth.js';

/** @typedef {import('../shared/api.js').VideoView} VideoView */
/** @typedef {import('../shared/api.js').ExecutionRecord} ExecutionRecord */
/** @typedef {import('../shared/api.js').StepRecord} StepRecord */

/** @param {string | null | undefined} iso */
function time(iso) {
  return iso ? new Date(iso).getTime() : NaN;
}

/** @param {number} ms */
function span(ms) {
  if (!Number.isFinite(ms) || ms < 0) return '—';
  return ms < 1000 ? `${Math.round(ms)} ms` : ms < 120_000 ? `${(ms / 1000).toFixed(1)} s` : `${(ms / 60_000).toFixed(1)} min`;
}

/** The steps of one execution on a shared time axis: name, status, duration, error.
 * @param {{ execution: ExecutionRecord }} props */
function Timeline({ execution }) {
  const steps = execution.steps || [];
  const start = time(execution.startedAt);
  const ends = steps.map((s) => time(s.endedAt || s.startedAt)).filter(Number.isFinite);
  const stop = Math.max(time(execution.stoppedAt) || 0, ...ends, start + 1);
  const total = stop - start;
  if (!steps.length) return html`<p class="muted">No step has run yet.</p>`;
  return html`<ol class="timeline">
    ${steps.map((step) => {
      const begin = time(step.startedAt);
      const end = step.endedAt ? time(step.endedAt) : stop;
      const x = Number.isFinite(begin) && total > 0 ? ((begin - start) / total) * 1000 : 0;
      const width = Number.isFinite(begin) && total > 0 ? Math.max(4, ((end - begin) / total) * 1000) : 0;
      return html`<li>
        <div class="step-head">
          <strong>${words(step.name)}</strong>
          <${StatusBadge} status=${step.status} />
          <span class="muted">${step.endedAt ? span(end - begin) : 'running'}</span>
          ${step.attempts && step.attempts > 1 ? html`<span class="muted">${step.attempts} attempts</span>` : null}
        </div>
        <svg class="step-bar" viewBox="0 0 1000 10" preserveAspectRatio="none" aria-hidden="true">
          <rect class=${'bar bar-' + step.status} x=${x} y="0" width=${Math.min(width, 1000 - x)} height="10" rx="2" />
        </svg>
        ${step.error ? html`<p class="notice error">${step.error}</p>` : null}
      </li>`;
    })}
  </ol>`;
}

/** @param {{ videoId: string }} props */
function Executions({ videoId }) {
  const history = useLoad((signal) => get('/execution-history', { query: { videoId }, signal }), [videoId]);
  const executions = history.data ? history.data.executions : [];
  return html`<section aria-labelledby="steps-heading">
    <h2 id="steps-heading">Workflow steps</h2>
    <${ErrorNotice} error=${history.error} />
    ${history.loading && !history.data ? html`<${Loading} />` : null}
    ${history.data && !executions.length ? html`<p class="muted">The workflow has not started for this video.</p>` : null}
    ${executions.map(
      (execution, index) => html`<div class="execution" key=${execution.executionId}>
        <p>
          ${index === 0 ? 'Latest run' : 'Earlier run'} <${StatusBadge} status=${execution.status} />${' '}
          <span class="muted">started ${when(execution.startedAt)}${execution.stoppedAt ? `, took ${span(time(execution.stoppedAt) - time(execution.startedAt))}` : ''}</span>
        </p>
        <${Timeline} execution=${execution} />
      </div>`,
    )}
  </section>`;
}

/** The Delete button and its confirmation dialog.
 * @param {{ video: VideoView }} props */
function DeleteVideo({ video }) {
  const dialog = useRef(/** @type {HTMLDialogElement | null} */ (null));
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(/** @type {unknown} */ (null));
  const title = video.title || video.videoId;
  const confirm = async () => {
    setBusy(true);
    setError(null);
    try {
      await asAdmin((headers) => del('/admin/videos/{videoId}', { path: { videoId: video.videoId }, headers }));
      if (dialog.current) dialog.current.close();
      location.hash = `#/videos?deleted=${encodeURIComponent(title)}`;
    } catch (failure) {
      setError(failure);
      setBusy(false);
    }
  };
  return html`<div class="form-actions">
      <button type="button" class="danger" onClick=${() => dialog.current && dialog.current.showModal()}>Delete</button>
    </div>
    <dialog ref=${dialog} aria-labelledby="delete-heading" aria-describedby="delete-what">
      <h2 id="delete-heading">Delete “${title}”?</h2>
      <p id="delete-what">
        The record, every stored version of the video file, its thumbnail and its vector are removed,
        and its mob loses a member. This cannot be undone.
      </p>
      <${ErrorNotice} error=${error} />
      <div class="form-actions">
        <button type="button" class="danger" disabled=${busy} onClick=${confirm}>${busy ? 'Deleting…' : 'Delete video'}</button>
        <button type="button" class="secondary" disabled=${busy} onClick=${() => dialog.current && dialog.current.close()}>Cancel</button>
      </div>
    </dialog>`;
}

/** @param {{ videoId: string }} props */
export function AdminVideoPage({ videoId }) {
  const loaded = useLoad((signal) => get('/videos/{videoId}', { path: { videoId }, signal }), [videoId]);
  const video = loaded.data;
  useEffect(() => { document.title = `${video ? video.title || video.videoId : 'Video'} · milkmobs admin`; }, [video]);
  if (loaded.error) return html`<h1>Video</h1><${ErrorNotice} error=${loaded.error} /><p><a href="#/videos">Back to the videos</a></p>`;
  if (!video) return html`<h1>Video</h1><${Loading} />`;
  return html`<h1>${video.title || 'Untitled video'}</h1>
    <p>
      <${StatusBadge} status=${video.status || 'pending_upload'} /> · by ${video.userId} · submitted ${when(video.createdAt)}
      ${video.mobId ? ` · mob ${video.mobName || video.mobId}` : ''}
      ${' · '}<span class="muted">${video.videoId}</span>
    </p>
    <${WhyNot} video=${video} />
    <div class="two-columns">
      <div>
        ${video.videoUrl
          ? html`<video class="player" controls preload="metadata" playsinline src=${video.videoUrl}
              poster=${video.thumbnailUrl || undefined} aria-label=${'Video: ' + (video.title || video.videoId)}></video>`
          : html`<p class="muted">No playable file yet.</p>`}
        <${Executions} videoId=${video.videoId} />
      </div>
      <div>
        <h2>Campaign validation</h2>
        <${ValidationBreakdown} validation=${video.validation} />
        <h2>Delete</h2>
        <${DeleteVideo} video=${video} />
      </div>
    </div>`;
}
