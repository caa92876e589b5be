// @ts-check
// Upload: the form, real progress while the file goes up through the signed form, then the video's
// status live (polled) with the workflow's steps, down to the final word and its reasons.
import { html, useEffect, useState } from '../vendor/htm-3.1.1-preact-standalone.module.js';
import { get, post, uploadFile } from '../shared/api.js';
import { ErrorNotice, FINAL_STATUSES, StatusBadge, StepList, ValidationBreakdown, WhyNot } from '../shared/ui.js';
import { titleOf } from './cards.js';
import { rememberName, savedName } from './mine.js';

/** @typedef {import('../shared/api.js').VideoView} VideoView */
/** @typedef {import('../shared/api.js').StepRecord} StepRecord */

const POLL_MS = 1000;

/** '#GotMilk, skate  beach' → ['GotMilk', 'skate', 'beach'] @param {string} text */
export function parseHashtags(text) {
  return text.split(/[\s,]+/).map((tag) => tag.replace(/^#+/, '')).filter(Boolean);
}

/** @param {{ videoId: string }} props */
export function LiveStatus({ videoId }) {
  const [video, setVideo] = useState(/** @type {VideoView | null} */ (null));
  const [steps, setSteps] = useState(/** @type {StepRecord[]} */ ([]));
  const [error, setError] = useState(/** @type {unknown} */ (null));
  useEffect(() => {
    let stopped = false;
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    let timer;
    const poll = async () => {
      try {
        const [current, history] = await Promise.all([
          get('/videos/{videoId}', { path: { videoId } }),
          get('/execution-history', { query: { videoId } }),
        ]);
        if (stopped) return;
        const latest = history.executions[history.executions.length - 1];
        setVideo(current);
        setSteps(latest && latest.steps ? latest.steps : []);
        setError(null);
        // The final word can come before the workflow's last steps (clustering, the event): poll
        // until the execution itself has stopped.
        if (FINAL_STATUSES.includes(current.status || '') && !(latest && latest.status === 'RUNNING')) return;
      } catch (failure) {
        if (stopped) return;
        setError(failure);
      }
      timer = setTimeout(poll, POLL_MS);
    };
    poll();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [videoId]);
  const status = video ? video.status || 'pending_upload' : 'uploaded';
  const final = FINAL_STATUSES.includes(status);
  return html`<section aria-labelledby="live-heading">
    <h2 id="live-heading">Status</h2>
    <p aria-live="polite">
      ${final ? 'Final status: ' : 'Now: '}<${StatusBadge} status=${status} />
      ${final ? null : html` <span class="muted">checking every second…</span>`}
    </p>
    <${ErrorNotice} error=${error} />
    <h3>Workflow steps</h3>
    <${StepList} steps=${steps} />
    ${video && final
      ? html`<${WhyNot} video=${video} />
          <h3>Validation</h3>
          <${ValidationBreakdown} validation=${video.validation} />
          <p><a href=${`#/videos/${encodeURIComponent(video.videoId)}`}>Open “${titleOf(video)}”</a></p>`
      : null}
  </section>`;
}

export function UploadPage() {
  useEffect(() => { document.title = 'Upload · milkmobs'; }, []);
  const [name, setName] = useState(savedName());
  const [title, setTitle] = useState('');
  const [hashtags, setHashtags] = useState('#GotMilk');
  const [file, setFile] = useState(/** @type {File | null} */ (null));
  const [progress, setProgress] = useState(/** @type {{ sent: number, total: number } | null} */ (null));
  const [videoId, setVideoId] = useState(/** @type {string | null} */ (null));
  const [error, setError] = useState(/** @type {unknown} */ (null));
  const [busy, setBusy] = useState(false);

  /** @param {Event} event */
  const submit = async (event) => {
    event.preventDefault();
    setError(null);
    if (!name.trim()) return setError(new Error('Enter your name: your uploads are listed under it in My videos.'));
    if (!file) return setError(new Error('Choose a video file (.mp4) to upload.'));
    setBusy(true);
    setVideoId(null);
    try {
      rememberName(name.trim());
      const submission = await post('/videos/submit', {
        userId: name.trim(),
        title: title.trim() || null,
        hashtags: parseHashtags(hashtags),
        contentType: file.type || 'video/mp4',
        sizeBytes: file.size,
      });
      setProgress({ sent: 0, total: file.size });
      await uploadFile(submission.upload, file, (sent, total) => setProgress({ sent, total }));
      setVideoId(submission.videoId);
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  };
  /** @param {(value: string) => void} set */
  const text = (set) => (/** @type {Event} */ e) => set(/** @type {HTMLInputElement} */ (e.currentTarget).value);
  const share = progress && progress.total ? Math.round((100 * progress.sent) / progress.total) : 0;
  return html`<h1>Upload</h1>
    <form onSubmit=${submit} novalidate>
      <label for="up-name">Your name</label>
      <input id="up-name" type="text" autocomplete="nickname" value=${name} onInput=${text(setName)} required />
      <label for="up-title">Title</label>
      <input id="up-title" type="text" value=${title} onInput=${text(setTitle)} maxlength="500" />
      <label for="up-tags">Hashtags</label>
      <input id="up-tags" type="text" value=${hashtags} onInput=${text(setHashtags)} aria-describedby="up-tags-hint" />
      <p class="hint" id="up-tags-hint">Separated by spaces or commas; the campaign looks for its own tags.</p>
      <label for="up-file">Video file</label>
      <input id="up-file" type="file" accept="video/mp4"
        onChange=${(/** @type {Event} */ e) => setFile((/** @type {HTMLInputElement} */ (e.currentTarget).files || [])[0] || null)} />
      <div class="form-actions"><button type="submit" disabled=${busy}>Upload</button></div>
    </form>
    <${ErrorNotice} error=${error} />
    ${progress
      ? html`<p>
          <span id="up-progress-label" class="progress-label">Upload progress</span>
          <progress id="up-progress" role="progressbar" aria-labelledby="up-progress-label" max="100" value=${share}
            aria-valuemin="0" aria-valuemax="100" aria-valuenow=${share}>${share}%</progress>
          <span class="muted"> ${share}% · ${(progress.sent / 1024).toFixed(0)} of ${(progress.total / 1024).toFixed(0)} KB</span>
        </p>`
      : null}
    ${videoId ? html`<${LiveStatus} key=${videoId} videoId=${videoId} />` : null}`;
}
