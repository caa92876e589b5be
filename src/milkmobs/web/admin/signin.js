// @ts-check
// The sign-in page: the admin token locally, the Cognito hosted UI on AWS.
import { html, useEffect, useState } from '../vendor/htm-3.1.1-preact-standalone.module.js';
import { get } from '../shared/api.js';
import { ErrorNotice } from '../shared/ui.js';
import { saveToken, startHostedSignIn } from './auth.js';

/** @typedef {import('./auth.js').SignInMethod} SignInMethod */

/** @param {{ onSignedIn: () => void }} props */
function TokenForm({ onSignedIn }) {
  const [token, setToken] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(/** @type {unknown} */ (null));
  /** @param {Event} event */
  const submit = async (event) => {
    event.preventDefault();
    const value = token.trim();
    if (!value) {
      setError(new Error('Enter the admin token.'));
      return;
    }
    setBusy(true);
    setError(null);
    try {
      // One cheap admin call tells a good token from a wrong one before anything is kept.
      await get('/admin/stats', { headers: { Authorization: `Bearer ${value}` } });
      saveToken(value);
      onSignedIn();
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  };
  return html`<form onSubmit=${submit} class="signin">
    <label for="admin-token">Admin token</label>
    <input id="admin-token" type="password" autocomplete="current-password" value=${token}
      aria-describedby="admin-token-hint"
      onInput=${(/** @type {Event} */ e) => setToken(/** @type {HTMLInputElement} */ (e.currentTarget).value)} />
    <p class="hint" id="admin-token-hint">
      <code>milkmobs serve</code> prints it when it starts (or set <code>MILKMOBS_ADMIN_TOKEN</code>).
      It is kept for this browser tab's session only.
    </p>
    <${ErrorNotice} error=${error} />
    <div class="form-actions"><button type="submit" disabled=${busy}>${busy ? 'Signing in…' : 'Sign in'}</button></div>
  </form>`;
}

/** @param {{ method: SignInMethod | null, reason: string, error: unknown, onSignedIn: () => void }} props */
export function SignInPage({ method, reason, error, onSignedIn }) {
  useEffect(() => { document.title = 'Sign in · milkmobs admin'; }, []);
  const [failure, setFailure] = useState(/** @type {unknown} */ (null));
  return html`<h1>Sign in</h1>
    ${reason ? html`<p class="notice error" role="alert">${reason}</p>` : null}
    <${ErrorNotice} error=${error || failure} />
    ${method === null ? null : method.kind === 'token'
      ? html`<${TokenForm} onSignedIn=${onSignedIn} />`
      : html`<p>Administrators sign in with their account (members of the <code>admins</code> group).</p>
          <div class="form-actions">
            <button type="button" onClick=${() => startHostedSignIn(method).catch(setFailure)}>Sign in</button>
          </div>`}`;
}
