// @ts-check
// Admin sign-in. config.json decides how: with a Cognito domain and client id (AWS), the Cognito
// hosted UI with the authorization code flow and PKCE; without them (`milkmobs serve`), the admin
// token. Either way the credential lives in sessionStorage: this tab's session only.
import { ApiError, errorFromBody, loadConfig } from '../shared/api.js';

const TOKEN_KEY = 'milkmobs.admin.token';
const PKCE_KEY = 'milkmobs.admin.pkce';
export const SIGNED_OUT_EVENT = 'milkmobs-admin-signed-out';

/** @typedef {{ kind: 'token' } | { kind: 'cognito', domain: string, clientId: string }} SignInMethod */

/** @returns {Promise<SignInMethod>} */
export async function signInMethod() {
  const config = await loadConfig();
  const domain = config.cognitoDomain;
  const clientId = config.cognitoClientId;
  if (typeof domain === 'string' && domain && typeof clientId === 'string' && clientId) {
    return { kind: 'cognito', domain: domain.replace(/\/$/, ''), clientId };
  }
  return { kind: 'token' };
}

export function savedToken() {
  try {
    return sessionStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

/** @param {string} token */
export function saveToken(token) {
  sessionStorage.setItem(TOKEN_KEY, token);
}

/** Forgets the credential and tells the app, which shows the sign-in again with `reason`.
 * @param {string} [reason] */
export function signOut(reason = '') {
  try {
    sessionStorage.removeItem(TOKEN_KEY);
  } catch {
    // storage unavailable: nothing was kept
  }
  dispatchEvent(new CustomEvent(SIGNED_OUT_EVENT, { detail: reason }));
}

/** The Authorization header of admin calls (the API takes `Bearer <token>`: the admin token locally,
 * the Cognito id token behind API Gateway).
 * @returns {Record<string, string>} */
export function authHeaders() {
  const token = savedToken();
  return token ? { Authorization: `Bearer ${token}` } : {};
}

/**
 * Runs an admin call; a 401/403 answer ends the session (the token expired or was refused).
 * @template T
 * @param {(headers: Record<string, string>) => Promise<T>} call
 * @returns {Promise<T>}
 */
export async function asAdmin(call) {
  try {
    return await call(authHeaders());
  } catch (error) {
    if (error instanceof ApiError && (error.status === 401 || error.status === 403)) {
      signOut(`The API refused the sign-in: ${error.message}`);
    }
    throw error;
  }
}

/** @param {Uint8Array} bytes */
function base64url(bytes) {
  let text = '';
  for (const byte of bytes) text += String.fromCharCode(byte);
  return btoa(text).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** @param {number} size */
function randomText(size) {
  const bytes = new Uint8Array(size);
  crypto.getRandomValues(bytes);
  return base64url(bytes);
}

/** The PKCE S256 challenge of a verifier (RFC 7636): base64url(SHA-256(verifier)).
 * @param {string} verifier */
export async function pkceChallenge(verifier) {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier));
  return base64url(new Uint8Array(digest));
}

/** Where Cognito sends the browser back: this dashboard's own address. */
function redirectUri() {
  return new URL('./', import.meta.url).href;
}

/** Sends the browser to the hosted UI; it comes back with `?code=&state=`.
 * @param {{ domain: string, clientId: string }} method */
export async function startHostedSignIn(method) {
  const verifier = randomText(48);
  const state = randomText(16);
  sessionStorage.setItem(PKCE_KEY, JSON.stringify({ verifier, state }));
  const url = new URL(`${method.domain}/oauth2/authorize`);
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: method.clientId,
    redirect_uri: redirectUri(),
    scope: 'openid email',
    state,
    code_challenge_method: 'S256',
    code_challenge: await pkceChallenge(verifier),
  }).toString();
  location.assign(url.href);
}

/**
 * After the hosted UI: trades `?code=` for tokens (with the verifier this tab kept) and keeps the id
 * token. False when the page was not opened by a sign-in answer.
 * @param {{ domain: string, clientId: string }} method
 */
export async function finishHostedSignIn(method) {
  const params = new URLSearchParams(location.search);
  const code = params.get('code');
  const refused = params.get('error');
  if (!code && !refused) return false;
  const kept = sessionStorage.getItem(PKCE_KEY);
  sessionStorage.removeItem(PKCE_KEY);
  history.replaceState(null, '', location.pathname + location.hash); // the code is single-use
  if (refused) throw new ApiError(0, refused, `Sign-in was refused: ${params.get('error_description') || refused}.`);
  const started = kept ? JSON.parse(kept) : null;
  if (!started || started.state !== params.get('state')) {
    throw new ApiError(0, 'state_mismatch', 'This sign-in answer is not for a sign-in this tab started: sign in again.');
  }
  const answer = await fetch(`${method.domain}/oauth2/token`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      client_id: method.clientId,
      code: String(code),
      redirect_uri: redirectUri(),
      code_verifier: started.verifier,
    }),
  });
  const text = await answer.text();
  if (!answer.ok) throw errorFromBody(answer.status, text);
  const tokens = JSON.parse(text);
  if (typeof tokens.id_token !== 'string') throw new ApiError(0, 'no_id_token', 'Cognito answered no id token.');
  saveToken(tokens.id_token);
  return true;
}

/** The hosted UI's sign-out, which comes back to the dashboard.
 * @param {{ domain: string, clientId: string }} method */
export function hostedSignOutUrl(method) {
  const url = new URL(`${method.domain}/logout`);
  url.search = new URLSearchParams({ client_id: method.clientId, logout_uri: redirectUri() }).toString();
  return url.href;
}
