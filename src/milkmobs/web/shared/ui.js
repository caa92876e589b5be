// @ts-check
// Pieces both apps use: data loading, hash routes, status badges, the validation breakdown and the
// workflow's steps in plain words.
import { html, useEffect, useState, useCallback } from '../vendor/htm-3.1.1-preact-standalone.module.js';
import { ApiError } from './api.js';

/** @typedef {import('./api.js').ValidationResult} ValidationResult */
/** @typedef {import('./api.js').StepRecord} StepRecord */
/** @typedef {import('./api.js').VideoView} VideoView */

export const FINAL_STATUSES = ['validated', 'rejected', 'failed'];

/**
 * The page's hash route: '#/videos/abc?x=1' → { parts: ['videos', 'abc'], query }.
 * Hash routes keep every page a static file (no server rewrite rules, locally or on CloudFront).
 */
export function useRoute() {
  const [hash, setHash] = useState(location.hash);
  useEffect(() => {
    const changed = () => setHash(location.hash);
    addEventListener('hashchange', changed);
    // Effects run after the first paint: a hash changed before then fired no event we heard.
    changed();
    return () => removeEventListener('hashchange', changed);
  }, []);
  const [path, search = ''] = hash.replace(/^#/, '').split('?');
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  return { parts, query: new URLSearchParams(search) };
}

/**
 * Loads data when `key` changes; `reload` runs the loader again.
 * @template T
 * @param {(signal: AbortSignal) => Promise<T>} loader
 * @param {unknown[]} keys
 * @returns {{ data: T | undefined, error: Error | null, loading: boolean, reload: () => void }}
 */
export function useLoad(loader, keys) {
  const [state, setState] = useState(
    /** @type {{ data: T | undefined, error: Error | null, loading: boolean }} */ ({ data: undefined, error: null, loading: true }),
  );
  const [round, setRound] = useState(0);
  useEffect(() => {
    const abort = new AbortController();
    setState((old) => ({ data: old.data, error: null, loading: true }));
    loader(abort.signal).then(
      (data) => { if (!abort.signal.aborted) setState({ data, error: null, loading: false }); },
      (error) => { if (!abort.signal.aborted) setState({ data: undefined, error, loading: false }); },
    );
    return () => abort.abort();
  }, [...keys, round]);
  const reload = useCallback(() => setRound((n) => n + 1), []);
  return { ...state, reload };
}

/** @param {{ error: unknown }} props */
export function ErrorNotice({ error }) {
  if (!error) return null;
  const message = error instanceof Error ? error.message : String(error);
  const code = error instanceof ApiError && error.status ? ` (HTTP ${error.status}, ${error.code})` : '';
  return html`<p class="notice error" role="alert">${message}${code}</p>`;
}

/** @param {{ label?: string }} props */
export function Loading({ label = 'Loading…' }) {
  return html`<p class="muted" role="status">${label}</p>`;
}

/** @param {{ status: string }} props */
export function StatusBadge({ status }) {
  return html`<span class=${'status status-' + status}>${status.replace(/_/g, ' ')}</span>`;
}

/** @param {string} name a workflow step or camelCase key → words */
export function words(name) {
  const spaced = name.replace(/[-_]+/g, ' ').replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase();
  return spaced.charAt(0).toUpperCase() + spaced.slice(1);
}

/** @param {string | null | undefined} iso */
export function when(iso) {
  if (!iso) return '';
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString();
}

/** @param {number} value in [0, 1] */
export function percent(value) {
  return `${Math.round(value * 100)}%`;
}

const PARTS = /** @type {const} */ ([
  ['visual', 'Visual (the product and the action)'],
  ['audio', 'Audio (the product mentioned)'],
  ['ocr', 'On-screen text'],
  ['hashtags', 'Hashtags'],
]);

/**
 * The reason line the validator wrote for one part ('visual 0.50: shows milk: yes; …' → 'shows milk: yes; …').
 * @param {string[]} reasons
 * @param {string} part
 */
function reasonFor(reasons, part) {
  const line = reasons.find((reason) => reason.toLowerCase().startsWith(part + ' '));
  return line ? line.replace(/^\w+ (\d+(\.\d+)?: )?/, '') : '';
}

/** The campaign score, each part's share and the validator's reasons, in plain words.
 * @param {{ validation: ValidationResult | null | undefined }} props */
export function ValidationBreakdown({ validation }) {
  if (!validation) return html`<p class="muted">Not validated yet.</p>`;
  const reasons = validation.reasons || [];
  const verdict = reasons.find((reason) => reason.startsWith('score ')) || '';
  return html`
    <p>
      <strong>Campaign score ${percent(validation.score)}:</strong>${' '}
      ${validation.passed ? 'takes part in the campaign.' : 'does not take part in the campaign.'}
      ${verdict && html` <span class="muted">(${verdict})</span>`}
    </p>
    <ul class="breakdown">
      ${PARTS.map(([part, label]) => {
        const value = validation.breakdown[part];
        return html`<li>
          <strong>${label}</strong>: ${value === null || value === undefined ? 'not available' : percent(value)}
          ${reasonFor(reasons, part) && html`<div class="muted">${reasonFor(reasons, part)}</div>`}
        </li>`;
      })}
    </ul>`;
}

/** @param {{ steps: StepRecord[] }} props */
export function StepList({ steps }) {
  if (!steps.length) return html`<p class="muted">No workflow step has run yet.</p>`;
  return html`<ol class="steps">
    ${steps.map(
      (step) => html`<li>
        <${StatusBadge} status=${step.status} />
        <span>${words(step.name)}</span>
        ${step.attempts && step.attempts > 1 ? html`<span class="muted">${step.attempts} attempts</span>` : null}
        ${step.error ? html`<span class="notice error">${step.error}</span>` : null}
      </li>`,
    )}
  </ol>`;
}

/** Why a video did not make it, in plain words (rejected: the validator's verdict; failed: step and error).
 * @param {{ video: VideoView }} props */
export function WhyNot({ video }) {
  if (video.status === 'failed' && video.failure) {
    return html`<p class="notice error">Failed at step “${words(video.failure.step)}”: ${video.failure.error}</p>`;
  }
  if (video.status === 'rejected' && video.validation) {
    const validation = video.validation;
    const reasons = validation.reasons || [];
    const short = PARTS.filter(([part]) => {
      const value = validation.breakdown[part];
      return value !== null && value !== undefined && value < 1 && reasonFor(reasons, part);
    });
    return html`<div class="notice error">
      <p>Rejected: ${reasons.find((r) => r.startsWith('score ')) || `score ${percent(validation.score)}`}</p>
      ${short.length
        ? html`<ul>${short.map(([part, label]) => html`<li>${label}: ${reasonFor(reasons, part)}</li>`)}</ul>`
        : null}
    </div>`;
  }
  return null;
}
