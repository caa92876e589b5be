// @ts-check
// My videos: the uploads under the chosen name, whatever their status, and why one did not make it.
import { html, useEffect, useState } from '../vendor/htm-3.1.1-preact-standalone.module.js';
import { get } from '../shared/api.js';
import { ErrorNotice, Loading, StatusBadge, WhyNot, when } from '../shared/ui.js';
import { titleOf } from './cards.js';
import { MoreButton, PAGE_SIZE, usePages } from './feed.js';

const NAME_KEY = 'milkmobs.name';

/** The name this browser uploads under (no sign-in in the consumer app). */
export function savedName() {
  try {
    return localStorage.getItem(NAME_KEY) || '';
  } catch {
    return '';
  }
}

/** @param {string} name */
export function rememberName(name) {
  try {
    localStorage.setItem(NAME_KEY, name);
  } catch {
    // private mode: the name is asked again next time
  }
}

/** @param {{ userId: string }} props */
function Uploads({ userId }) {
  const list = usePages(async (cursor) => {
    const page = await get('/videos/user', { query: { userId, limit: PAGE_SIZE, cursor } });
    return { items: page.videos, next: page.nextCursor };
  }, [userId]);
  return html`<${ErrorNotice} error=${list.error} />
    ${list.loading && !list.items.length ? html`<${Loading} />` : null}
    ${!list.loading && !list.items.length && !list.error ? html`<p class="muted">No upload under “${userId}” yet.</p>` : null}
    <ul class="cards">
      ${list.items.map(
        (video) => html`<li class="card" key=${video.videoId}><div class="body">
          <a class="title" href=${`#/videos/${encodeURIComponent(video.videoId)}`}>${titleOf(video)}</a>
          <span><${StatusBadge} status=${video.status || 'pending_upload'} /></span>
          <span class="meta">${when(video.createdAt)}</span>
          ${video.mobId ? html`<span class="meta">mob: <a href=${`#/mobs/${encodeURIComponent(video.mobId)}`}>${video.mobName || video.mobId}</a></span>` : null}
          <${WhyNot} video=${video} />
        </div></li>`,
      )}
    </ul>
    ${list.next ? html`<${MoreButton} onMore=${list.more} loading=${list.loading} />` : null}`;
}

export function MyVideosPage() {
  useEffect(() => { document.title = 'My videos · milkmobs'; }, []);
  const [draft, setDraft] = useState(savedName());
  const [name, setName] = useState(savedName());
  /** @param {Event} event */
  const choose = (event) => {
    event.preventDefault();
    rememberName(draft.trim());
    setName(draft.trim());
  };
  return html`<h1>My videos</h1>
    <form onSubmit=${choose} class="form-actions">
      <div>
        <label for="mine-name">Your name</label>
        <input id="mine-name" type="text" value=${draft}
          onInput=${(/** @type {Event} */ e) => setDraft(/** @type {HTMLInputElement} */ (e.currentTarget).value)} />
      </div>
      <button type="submit" class="secondary">Show my videos</button>
    </form>
    ${name ? html`<${Uploads} key=${name} userId=${name} />` : html`<p class="muted">Enter the name you upload under.</p>`}`;
}
