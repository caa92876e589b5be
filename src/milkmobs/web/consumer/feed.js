// @ts-check
// The feed (validated videos, newest first, "More" through the cursor and on scroll) and text search.
import { html, useEffect, useRef, useState } from '../vendor/htm-3.1.1-preact-standalone.module.js';
import { get } from '../shared/api.js';
import { ErrorNotice, Loading, useLoad } from '../shared/ui.js';
import { VideoCards } from './cards.js';

/** @typedef {import('../shared/api.js').VideoView} VideoView */

export const PAGE_SIZE = 20;

/**
 * Pages through a cursor-paged list: `loadPage(cursor)` answers the items and the next cursor.
 * @param {(cursor: string | undefined) => Promise<{ items: VideoView[], next: string | null | undefined }>} loadPage
 * @param {unknown[]} keys
 */
export function usePages(loadPage, keys) {
  const [items, setItems] = useState(/** @type {VideoView[]} */ ([]));
  const [next, setNext] = useState(/** @type {string | null} */ (null));
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState(/** @type {unknown} */ (null));
  const round = useRef(0);

  /** @param {string | undefined} cursor @param {boolean} fresh */
  const fetchPage = (cursor, fresh) => {
    const mine = ++round.current;
    setLoading(true);
    setError(null);
    loadPage(cursor).then(
      (page) => {
        if (mine !== round.current) return;
        setItems((old) => (fresh ? page.items : [...old, ...page.items]));
        setNext(page.next || null);
        setLoading(false);
      },
      (failure) => {
        if (mine !== round.current) return;
        setError(failure);
        setLoading(false);
      },
    );
  };
  useEffect(() => {
    setItems([]);
    fetchPage(undefined, true);
  }, keys);
  const more = () => {
    if (next && !loading) fetchPage(next, false);
  };
  return { items, next, loading, error, more };
}

/** "More" as a button, also pressed by itself when it scrolls into view (infinite scroll).
 * @param {{ onMore: () => void, loading: boolean }} props */
export function MoreButton({ onMore, loading }) {
  const button = useRef(/** @type {HTMLButtonElement | null} */ (null));
  const latest = useRef(onMore);
  latest.current = onMore;
  useEffect(() => {
    if (!button.current || !('IntersectionObserver' in window)) return;
    const watcher = new IntersectionObserver((entries) => {
      if (entries.some((entry) => entry.isIntersecting)) latest.current();
    }, { rootMargin: '200px' });
    watcher.observe(button.current);
    return () => watcher.disconnect();
  }, []);
  return html`<div class="more"><button ref=${button} type="button" class="secondary" disabled=${loading} onClick=${onMore}>
    ${loading ? 'Loading…' : 'More'}
  </button></div>`;
}

export function FeedPage() {
  useEffect(() => { document.title = 'Feed · milkmobs'; }, []);
  const feed = usePages(async (cursor) => {
    const page = await get('/feed', { query: { limit: PAGE_SIZE, cursor } });
    return { items: page.videos, next: page.nextCursor };
  }, []);
  return html`<h1>Feed</h1>
    <p class="hint">Videos that take part in the campaign, newest first.</p>
    <${ErrorNotice} error=${feed.error} />
    ${feed.loading && !feed.items.length
      ? html`<${Loading} />`
      : html`<${VideoCards} videos=${feed.items} empty="No validated video yet: upload the first one." />`}
    ${feed.next ? html`<${MoreButton} onMore=${feed.more} loading=${feed.loading} />` : null}`;
}

/** @param {{ query: string }} props */
export function SearchPage({ query }) {
  useEffect(() => { document.title = `Search: ${query} · milkmobs`; }, [query]);
  const found = useLoad((signal) => get('/search/text', { query: { q: query, limit: PAGE_SIZE }, signal }), [query]);
  return html`<h1>Search: “${query}”</h1>
    <${ErrorNotice} error=${found.error} />
    ${found.loading
      ? html`<${Loading} label="Searching…" />`
      : found.data
        ? html`<${VideoCards} videos=${(found.data.results || []).map((r) => r.video)} empty="No video matches that text." />`
        : null}`;
}
