// @ts-check
// Every mob (name, description, size) and one mob's videos.
import { html, useEffect } from '../vendor/htm-3.1.1-preact-standalone.module.js';
import { get } from '../shared/api.js';
import { ErrorNotice, Loading, useLoad } from '../shared/ui.js';
import { VideoCards } from './cards.js';
import { MoreButton, PAGE_SIZE, usePages } from './feed.js';

/** @typedef {import('../shared/api.js').Mob} Mob */

/** @param {number | undefined} count */
function size(count) {
  return count === 1 ? '1 video' : `${count || 0} videos`;
}

export function MobsPage() {
  useEffect(() => { document.title = 'Mobs · milkmobs'; }, []);
  const mobs = useLoad((signal) => get('/mobs', { signal }), []);
  return html`<h1>Mobs</h1>
    <p class="hint">Communities of videos that look alike, found by clustering.</p>
    <${ErrorNotice} error=${mobs.error} />
    ${mobs.loading && !mobs.data ? html`<${Loading} />` : null}
    ${mobs.data && !mobs.data.mobs.length ? html`<p class="muted">No mob yet: they form as validated videos arrive.</p>` : null}
    ${mobs.data && mobs.data.mobs.length
      ? html`<ul class="cards">
          ${mobs.data.mobs.map(
            (mob) => html`<li class="card" key=${mob.mobId}><div class="body">
              <a class="title" href=${`#/mobs/${encodeURIComponent(mob.mobId)}`}>${mob.name}</a>
              <span class="meta">${size(mob.videoCount)}</span>
              ${mob.description ? html`<span>${mob.description}</span>` : null}
            </div></li>`,
          )}
        </ul>`
      : null}`;
}

/** @param {{ mobId: string }} props */
export function MobPage({ mobId }) {
  const mob = useLoad((signal) => get('/mobs/{mobId}', { path: { mobId }, query: { limit: 1 }, signal }), [mobId]);
  const videos = usePages(async (cursor) => {
    const page = await get('/mobs/{mobId}', { path: { mobId }, query: { limit: PAGE_SIZE, cursor } });
    return { items: page.videos || [], next: page.nextCursor };
  }, [mobId]);
  const name = mob.data ? mob.data.mob.name : 'Mob';
  useEffect(() => { document.title = `${name} · milkmobs`; }, [name]);
  return html`<p><a href="#/mobs">All mobs</a></p>
    <h1>${name}</h1>
    <${ErrorNotice} error=${mob.error} />
    ${mob.data
      ? html`<p>${mob.data.mob.description || ''} <span class="muted">${size(mob.data.mob.videoCount)}</span></p>
          ${mob.data.mob.exampleHashtags && mob.data.mob.exampleHashtags.length
            ? html`<p class="muted">${mob.data.mob.exampleHashtags.map((tag) => '#' + tag.replace(/^#/, '')).join(' ')}</p>`
            : null}`
      : null}
    <h2>Videos in this mob</h2>
    <${ErrorNotice} error=${mob.error ? null : videos.error} />
    ${videos.loading && !videos.items.length ? html`<${Loading} />` : html`<${VideoCards} videos=${videos.items} empty="This mob has no video left." />`}
    ${videos.next ? html`<${MoreButton} onMore=${videos.more} loading=${videos.loading} />` : null}`;
}
