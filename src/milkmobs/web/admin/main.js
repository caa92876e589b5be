// @ts-check
// The admin dashboard: sign-in, the layout, the navigation and which page a hash route shows.
import { html, render, useEffect, useState } from '../vendor/htm-3.1.1-preact-standalone.module.js';
import { NotFound, SiteNav } from '../shared/nav.js';
import { useRoute } from '../shared/ui.js';
import { SIGNED_OUT_EVENT, finishHostedSignIn, hostedSignOutUrl, savedToken, signInMethod, signOut } from './auth.js';
import { MobsPage } from './mobs.js';
import { OverviewPage } from './overview.js';
import { SignInPage } from './signin.js';
import { UsagePage } from './usage.js';
import { AdminVideoPage } from './video.js';
import { VideosPage } from './videos.js';

/** @typedef {import('./auth.js').SignInMethod} SignInMethod */

/** @type {import('../shared/nav.js').NavItem[]} */
const NAV = [
  ['Overview', '#/', 'overview'],
  ['Videos', '#/videos', 'videos'],
  ['Mobs', '#/mobs', 'mobs'],
  ['Usage', '#/usage', 'usage'],
];

/** @param {{ section: string, signedIn: boolean, method: SignInMethod | null }} props */
function Header({ section, signedIn, method }) {
  const leave = () => {
    signOut();
    if (method && method.kind === 'cognito') location.assign(hostedSignOutUrl(method));
  };
  return html`<header class="site-header">
    <a class="brand" href="#/">milkmobs admin</a>
    ${signedIn
      ? html`<${SiteNav} label="Admin" items=${NAV} section=${section} />
        <button type="button" class="secondary sign-out" onClick=${leave}>Sign out</button>`
      : null}
  </header>`;
}

/** Which page a route shows, and its navigation section.
 * @param {string[]} parts */
function pageFor(parts) {
  const [first, second] = parts;
  if (!first) return { section: 'overview', page: html`<${OverviewPage} />` };
  if (first === 'videos' && second) return { section: 'videos', page: html`<${AdminVideoPage} key=${second} videoId=${second} />` };
  if (first === 'videos') return { section: 'videos', page: html`<${VideosPage} />` };
  if (first === 'mobs') return { section: 'mobs', page: html`<${MobsPage} />` };
  if (first === 'usage') return { section: 'usage', page: html`<${UsagePage} />` };
  return { section: '', page: html`<${NotFound} home="overview" />` };
}

function App() {
  const route = useRoute();
  const [method, setMethod] = useState(/** @type {SignInMethod | null} */ (null));
  const [signedIn, setSignedIn] = useState(Boolean(savedToken()));
  const [reason, setReason] = useState('');
  const [error, setError] = useState(/** @type {unknown} */ (null));
  useEffect(() => {
    signInMethod().then(async (found) => {
      setMethod(found);
      if (found.kind === 'cognito' && (await finishHostedSignIn(found))) setSignedIn(true);
    }).catch(setError);
    /** @param {Event} event */
    const ended = (event) => {
      setSignedIn(false);
      setReason(String(/** @type {CustomEvent} */ (event).detail || ''));
    };
    addEventListener(SIGNED_OUT_EVENT, ended);
    return () => removeEventListener(SIGNED_OUT_EVENT, ended);
  }, []);
  const key = route.parts.join('/');
  useEffect(() => { window.scrollTo(0, 0); }, [key]);
  if (!signedIn) {
    const done = () => { setReason(''); setSignedIn(true); };
    return html`<${Header} section="" signedIn=${false} method=${method} />
      <main><${SignInPage} method=${method} reason=${reason} error=${error} onSignedIn=${done} /></main>`;
  }
  const { section, page } = pageFor(route.parts);
  return html`<${Header} section=${section} signedIn=${true} method=${method} /><main>${page}</main>`;
}

const root = document.getElementById('app');
if (root) render(html`<${App} />`, root);
