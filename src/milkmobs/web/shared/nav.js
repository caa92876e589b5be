// @ts-check
// The site header's navigation and the page-not-found message, the same on both apps.
import { html } from '../vendor/htm-3.1.1-preact-standalone.module.js';

/** One navigation entry: its label, the hash route it opens, the section it marks as current.
 * @typedef {readonly [label: string, href: string, section: string]} NavItem */

/** The links of one app, the current section's link marked for assistive technology.
 * @param {{ label: string, items: readonly NavItem[], section: string }} props */
export function SiteNav({ label, items, section }) {
  return html`<nav class="site-nav" aria-label=${label}>
    <ul>
      ${items.map(
        ([text, href, key]) =>
          html`<li><a href=${href} aria-current=${section === key ? 'page' : undefined}>${text}</a></li>`,
      )}
    </ul>
  </nav>`;
}

/** What a hash route that no page serves shows, with the way back to the app's first page.
 * @param {{ home: string }} props */
export function NotFound({ home }) {
  return html`<h1>Page not found</h1><p>Nothing lives at “${location.hash}”. <a href="#/">Back to the ${home}</a>.</p>`;
}
