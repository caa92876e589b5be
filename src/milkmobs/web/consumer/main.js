// @ts-check
// The consumer app: the layout, the navigation and which page a hash route shows.
import { html, render, useEffect, useRef, useState } from '../vendor/htm-3.1.1-preact-standalone.module.js';
import { NotFound, SiteNav } from '../shared/nav.js';
import { useRoute } from '../shared/ui.js';
import { FeedPage, SearchPage } from './feed.js';
import { MobPage, MobsPage } from './mobs.js';
import { MyVideosPage } from './mine.js';
import { UploadPage } from './upload.js';
import { VideoPage } from './video.js';

/** @type {import('../shared/nav.js').NavItem[]} */
const NAV = [
  ['Feed', '#/', 'feed'],
  ['Mobs', '#/mobs', 'mobs'],
  ['Upload', '#/upload', 'upload'],
  ['My videos', '#/mine', 'mine'],
];

/** @param {{ section: string }} props */
function Header({ section }) {
  const route = useRoute();
  const [text, setText] = useState(route.parts[0] === 'search' ? route.query.get('q') || '' : '');
  /** @param {Event} event */
  const search = (event) => {
    event.preventDefault();
    if (text.trim()) location.hash = `#/search?q=${encodeURIComponent(text.trim())}`;
  };
  return html`<header class="site-header">
    <a class="brand" href="#/">milkmobs</a>
    <${SiteNav} label="Main" items=${NAV} section=${section} />
    <form class="search" role="search" onSubmit=${search}>
      <label class="visually-hidden" for="search-videos">Search videos</label>
      <input id="search-videos" type="search" value=${text} placeholder="Search videos"
        onInput=${(/** @type {InputEvent} */ e) => setText(/** @type {HTMLInputElement} */ (e.currentTarget).value)} />
      <button type="submit" class="secondary">Search</button>
    </form>
  </header>`;
}

function App() {
  const route = useRoute();
  const [first, second] = route.parts;
  const main = useRef(/** @type {HTMLElement | null} */ (null));
  const key = route.parts.join('/') + '?' + route.query.toString();
  const firstRender = useRef(true);
  useEffect(() => {
    // A new page: start reading at its top, and (after the first) tell assistive technology by
    // moving focus to the main region, as a real navigation would.
    window.scrollTo(0, 0);
    if (firstRender.current) firstRender.current = false;
    else if (main.current) main.current.focus({ preventScroll: true });
  }, [key]);
  let page;
  let section = '';
  if (!first || first === 'feed') {
    page = html`<${FeedPage} />`;
    section = 'feed';
  } else if (first === 'mobs' && second) {
    page = html`<${MobPage} key=${second} mobId=${second} />`;
    section = 'mobs';
  } else if (first === 'mobs') {
    page = html`<${MobsPage} />`;
    section = 'mobs';
  } else if (first === 'upload') {
    page = html`<${UploadPage} />`;
    section = 'upload';
  } else if (first === 'mine') {
    page = html`<${MyVideosPage} />`;
    section = 'mine';
  } else if (first === 'videos' && second) {
    page = html`<${VideoPage} key=${second} videoId=${second} />`;
  } else if (first === 'search') {
    page = html`<${SearchPage} key=${route.query.get('q')} query=${route.query.get('q') || ''} />`;
  } else {
    page = html`<${NotFound} home="feed" />`;
  }
  return html`<${Header} section=${section} /><main ref=${main} tabindex="-1">${page}</main>`;
}

const root = document.getElementById('app');
if (root) render(html`<${App} />`, root);
