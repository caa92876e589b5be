// @ts-check
// Usage: model invocations, seconds of video analysed and the estimated cost, per model over a range,
// as a uPlot chart of the API's time buckets and a table of the totals.
import { html, useEffect, useRef } from '../vendor/htm-3.1.1-preact-standalone.module.js';
import uPlot from '../vendor/uPlot-1.6.32.esm.js';
import { get } from '../shared/api.js';
import { ErrorNotice, Loading, useLoad, useRoute } from '../shared/ui.js';
import { asAdmin } from './auth.js';
import { mobColour } from './mobs.js';

/** @typedef {import('milkmobs-api').components['schemas']['UsageReport']} UsageReport */
/** @typedef {import('milkmobs-api').components['schemas']['UsageTotals']} UsageTotals */
/** @typedef {import('milkmobs-api').components['schemas']['UsageBucket']} UsageBucket */
/** @typedef {'1h' | '24h' | '7d' | '30d'} Range */
/** @typedef {'invocations' | 'videoSeconds' | 'estimatedCostUsd'} Measure */

/** @type {[Range, string][]} */
const RANGES = [['1h', 'Last hour'], ['24h', 'Last 24 hours'], ['7d', 'Last 7 days'], ['30d', 'Last 30 days']];
/** @type {[Measure, string][]} */
const MEASURES = [['invocations', 'Invocations'], ['videoSeconds', 'Seconds analysed'], ['estimatedCostUsd', 'Estimated cost (USD)']];

/** What a model without a price (only the Bedrock models have one) shows instead of a cost: not 0. */
const NOT_PRICED = 'not priced';

/** @param {number | null | undefined} value null: not priced */
function usd(value) {
  if (value === null || value === undefined) return NOT_PRICED;
  return value.toLocaleString(undefined, { style: 'currency', currency: 'USD', minimumFractionDigits: 2, maximumFractionDigits: 4 });
}

/** @param {number} value */
function seconds(value) {
  return `${value.toLocaleString(undefined, { maximumFractionDigits: 1 })} s`;
}

/** @param {UsageBucket} bucket @param {Measure} measure @returns {number | null} null: no price, no line */
function valueOf(bucket, measure) {
  const value = bucket[measure];
  if (measure === 'estimatedCostUsd' && (value === null || value === undefined)) return null;
  return Number(value || 0);
}

/** A CSS custom property of the page (the chart follows the light or dark theme). @param {string} name */
function themeColour(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || 'currentColor';
}

/** @param {{ report: UsageReport, measure: Measure, label: string }} props */
function UsageChart({ report, measure, label }) {
  const holder = useRef(/** @type {HTMLDivElement | null} */ (null));
  useEffect(() => {
    const element = holder.current;
    const models = report.models || [];
    if (!element || !models.length) return undefined;
    const first = models[0].buckets || [];
    const xs = first.map((bucket) => new Date(bucket.start).getTime() / 1000);
    /** @type {uPlot.AlignedData} */
    const data = [xs, ...models.map((model) => (model.buckets || []).map((bucket) => valueOf(bucket, measure)))];
    const text = themeColour('--text');
    const grid = themeColour('--border');
    /** @type {uPlot.Options} */
    const options = {
      width: Math.max(200, element.clientWidth),
      height: 280,
      scales: { x: { time: true }, y: { range: (_, min, max) => [0, Math.max(max, measure === 'invocations' ? 1 : 0.0001)] } },
      series: [
        { label: 'Time' },
        ...models.map((model, index) => ({
          label: `${model.modelType} (${model.modelId})`,
          stroke: mobColour(index),
          width: 2,
          points: { show: xs.length <= 31 },
          value: (/** @type {uPlot} */ _u, /** @type {number | null} */ v) =>
            v === null ? '—' : measure === 'estimatedCostUsd' ? usd(v) : measure === 'videoSeconds' ? seconds(v) : String(v),
        })),
      ],
      axes: [
        { stroke: text, grid: { stroke: grid }, ticks: { stroke: grid } },
        { stroke: text, grid: { stroke: grid }, ticks: { stroke: grid }, size: 70 },
      ],
    };
    const chart = new uPlot(options, data, element);
    const resized = new ResizeObserver(() => chart.setSize({ width: Math.max(200, element.clientWidth), height: 280 }));
    resized.observe(element);
    return () => {
      resized.disconnect();
      chart.destroy();
    };
  }, [report, measure]);
  return html`<figure class="usage-chart">
    <div ref=${holder} role="img" aria-label=${`${label} per ${report.bucketSeconds >= 86400 ? 'day' : report.bucketSeconds >= 3600 ? `${report.bucketSeconds / 3600} hours` : `${report.bucketSeconds / 60} minutes`}, one line per model`}></div>
  </figure>`;
}

/** @param {{ report: UsageReport }} props */
function UsageTable({ report }) {
  const models = report.models || [];
  const sum = (/** @type {(m: UsageTotals) => number} */ pick) => models.reduce((total, model) => total + pick(model), 0);
  return html`<div class="table-wrap" tabindex="0" role="region" aria-label="Usage per model">
    <table>
      <thead><tr>
        <th scope="col">Model</th><th scope="col">Type</th><th scope="col" class="number">Invocations</th>
        <th scope="col" class="number">Seconds analysed</th><th scope="col" class="number">Estimated cost</th>
      </tr></thead>
      <tbody>
        ${models.map(
          (model) => html`<tr key=${model.modelId + model.modelType}>
            <td>${model.modelId}</td><td>${model.modelType}</td>
            <td class="number">${model.invocations || 0}</td>
            <td class="number">${seconds(model.videoSeconds || 0)}</td>
            <td class="number">${usd(model.estimatedCostUsd)}</td>
          </tr>`,
        )}
      </tbody>
      <tfoot><tr>
        <th scope="row" colspan="2">Total</th>
        <td class="number">${sum((m) => m.invocations || 0)}</td>
        <td class="number">${seconds(sum((m) => m.videoSeconds || 0))}</td>
        <td class="number">${usd(report.totalEstimatedCostUsd)}</td>
      </tr></tfoot>
    </table>
  </div>`;
}

/** @param {string | null} value @returns {Range} */
function asRange(value) {
  const found = RANGES.find(([range]) => range === value);
  return found ? found[0] : '24h';
}

/** @param {string | null} value @returns {Measure} */
function asMeasure(value) {
  const found = MEASURES.find(([measure]) => measure === value);
  return found ? found[0] : 'invocations';
}

export function UsagePage() {
  useEffect(() => { document.title = 'Usage · milkmobs admin'; }, []);
  const route = useRoute();
  const range = asRange(route.query.get('range'));
  const measure = asMeasure(route.query.get('chart'));
  const report = useLoad(
    (signal) => asAdmin((headers) => get('/admin/usage-stats', { query: { range }, headers, signal })),
    [range],
  );
  /** @param {string} name @param {string} value */
  const choose = (name, value) => {
    const query = new URLSearchParams({ range, chart: measure });
    query.set(name, value);
    location.hash = `#/usage?${query}`;
  };
  const data = report.data;
  const label = (MEASURES.find(([m]) => m === measure) || MEASURES[0])[1];
  const models = (data && data.models) || [];
  const nonePriced = measure === 'estimatedCostUsd' && models.every((model) => model.estimatedCostUsd === null);
  return html`<h1>Usage</h1>
    <p class="hint">Calls to the video models, the seconds of video they analysed and what that is estimated to cost.</p>
    <div class="toolbar">
      <div>
        <label for="usage-range">Range</label>
        <select id="usage-range" value=${range} onChange=${(/** @type {Event} */ e) => choose('range', /** @type {HTMLSelectElement} */ (e.currentTarget).value)}>
          ${RANGES.map(([value, text]) => html`<option value=${value}>${text}</option>`)}
        </select>
      </div>
      <div>
        <label for="usage-measure">Chart</label>
        <select id="usage-measure" value=${measure} onChange=${(/** @type {Event} */ e) => choose('chart', /** @type {HTMLSelectElement} */ (e.currentTarget).value)}>
          ${MEASURES.map(([value, text]) => html`<option value=${value}>${text}</option>`)}
        </select>
      </div>
    </div>
    <${ErrorNotice} error=${report.error} />
    ${report.loading && !data ? html`<${Loading} />` : null}
    ${data && !(data.models || []).length ? html`<p class="muted">No model was called in this range.</p>` : null}
    ${data && (data.models || []).length
      ? html`<h2>${label}</h2>
          ${nonePriced
            ? html`<p class="muted not-priced">None of these models has a price: only the Bedrock models are priced.</p>`
            : html`<${UsageChart} report=${data} measure=${measure} label=${label} />`}
          <h2>Per model</h2>
          <${UsageTable} report=${data} />`
      : null}`;
}
