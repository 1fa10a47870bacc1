// Gatehouse clerk.js: a small, dependency-free imitation of Clerk's browser SDK.
//
// The server renders the complete auth state into the page, so this module
// never needs the network to know who is signed in. Its jobs are:
//   * exposing that state synchronously as window.Clerk (useAuth, useUser, ...);
//   * keeping the HttpOnly __session cookie fresh while the tab is visible;
//   * keeping tabs consistent (BroadcastChannel + Web Locks);
//   * progressively enhancing server-rendered forms and menus.
// Everything degrades: without JS, the HTML forms still work.

const VERSION = '0.1.0';
const LOCK_NAME = 'gatehouse:refresh-session-token';
const CHANNEL_NAME = 'gatehouse:clerk';
const LEEWAY_S = 15;          // refresh when less than this much token life remains
const POLL_MS = 5000;         // like Clerk's session poller
const FETCH_TIMEOUT_MS = 15000;
const RELOAD_BUDGET_KEY = 'gatehouse:clerk:stale-reloads';

// ==== Embedded state

function readJSON(id) {
  const el = document.getElementById(id);
  if (!el) return null;
  try { return JSON.parse(el.textContent || 'null'); } catch { return null; }
}

const STATE_KEYS = ['userId', 'sessionId', 'sessionStatus', 'sessionClaims', 'actor', 'orgId',
  'orgRole', 'orgSlug', 'orgPermissions', 'factorVerificationAge'];

function signedOutState() {
  const s = { tokenType: 'session_token', isAuthenticated: false };
  for (const k of STATE_KEYS) s[k] = null;
  return s;
}

// Accept the documented {"__clerk_ssr_state": {...}} wrapper (or a bare state)
// and make sure every documented key exists, so null stays null.
function normaliseState(raw) {
  const src = raw && typeof raw === 'object' ? (raw.__clerk_ssr_state ?? raw) : null;
  if (!src || typeof src !== 'object' || src.isAuthenticated !== true) {
    return { ...signedOutState(), ...(src && typeof src === 'object' ? src : {}), isAuthenticated: false };
  }
  const s = { ...src, tokenType: src.tokenType ?? 'session_token', isAuthenticated: true };
  for (const k of STATE_KEYS) if (s[k] === undefined) s[k] = null;
  return s;
}

const rawEnv = readJSON('__clerk_env') || {};
const env = {
  publishableKey: rawEnv.publishableKey ?? null,
  frontendApi: String(rawEnv.frontendApi || '/__clerk/v1').replace(/\/+$/, ''),
  afterSignOutUrl: rawEnv.afterSignOutUrl || '/',
};

let state = normaliseState(readJSON('__clerk_ssr_state'));
let leaving = false;          // a reload/navigation is under way: ignore further events

// ==== JWT helpers (decode only; the server is the one that verifies)

export function decodeJwtPayload(jwt) {
  try {
    const part = String(jwt).split('.')[1];
    if (!part) return null;
    const b64 = part.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(part.length / 4) * 4, '=');
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const payload = JSON.parse(new TextDecoder().decode(bytes));
    return payload && typeof payload === 'object' ? payload : null;
  } catch {
    return null;
  }
}

const num = (v) => (typeof v === 'number' && Number.isFinite(v) ? v : null);

// Local wall-clock deadline (ms) for a token. For a token just minted we trust
// its lifetime (exp - iat) rather than our clock, which may be skewed from the
// server's. For the embedded token we use exp, capped at one full lifetime so a
// client clock running behind cannot make us miss the refresh.
function deadlineFor(claims, justMinted) {
  const exp = num(claims?.exp);
  if (exp === null) return 0;
  const iat = num(claims.iat);
  const byLifetime = iat !== null ? Date.now() + (exp - iat) * 1000 : Infinity;
  if (justMinted && iat !== null) return byLifetime;
  return Math.min(exp * 1000, byLifetime);
}

// ==== Frontend API

export class ClerkAPIError extends Error {
  constructor(status, body) {
    const first = Array.isArray(body?.errors) ? body.errors[0] : null;
    super(first?.long_message || first?.message || `Frontend API request failed (${status})`);
    this.name = 'ClerkAPIError';
    this.status = status;
    this.code = first?.code ?? `http_${status}`;
    this.errors = Array.isArray(body?.errors) ? body.errors : [];
  }
}

async function api(path, { method = 'POST', body } = {}) {
  const init = { method, credentials: 'same-origin', cache: 'no-store', headers: { Accept: 'application/json' } };
  if (method !== 'GET') {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body ?? {});
  }
  if (typeof AbortSignal !== 'undefined' && typeof AbortSignal.timeout === 'function') {
    init.signal = AbortSignal.timeout(FETCH_TIMEOUT_MS); // a stuck request must not hold the lock forever
  }
  const res = await fetch(env.frontendApi + path, init);
  let data = null;
  try { data = await res.json(); } catch { /* empty or non-JSON body */ }
  if (!res.ok) throw new ClerkAPIError(res.status, data);
  return data;
}

const sessionPath = (sid, rest) => `/client/sessions/${encodeURIComponent(sid)}/${rest}`;

// A 4xx means the session no longer exists, except for throttling/timeouts.
const isSessionGone = (err) =>
  err instanceof ClerkAPIError && err.status >= 400 && err.status < 500 && err.status !== 408 && err.status !== 429;

// ==== Cross-tab messaging (optional: everything still works per tab without it)

let channel = null;
try { if (typeof BroadcastChannel === 'function') channel = new BroadcastChannel(CHANNEL_NAME); } catch { channel = null; }

function broadcast(msg) {
  try { channel?.postMessage(msg); } catch { /* channel closed */ }
}

function reloadPage() {
  if (leaving) return;
  leaving = true;
  stopPoller();
  location.reload();
}

// Reloads triggered by "your render looks stale" signals (hellos, token claims)
// get a budget, so a server that renders inconsistently cannot cause a loop.
function staleReload() {
  try {
    const now = Date.now();
    const recent = JSON.parse(sessionStorage.getItem(RELOAD_BUDGET_KEY) || '[]').filter((t) => now - t < 30000);
    if (recent.length >= 3) return;
    recent.push(now);
    sessionStorage.setItem(RELOAD_BUDGET_KEY, JSON.stringify(recent));
  } catch { /* storage unavailable: allow */ }
  reloadPage();
}

// ==== Listeners

const listeners = new Set();

function notify() {
  const snapshot = useAuth();
  for (const fn of [...listeners]) {
    try { fn(snapshot); } catch (err) { console.error('Gatehouse: Clerk listener failed', err); }
  }
}

function addListener(fn) {
  if (typeof fn !== 'function') throw new TypeError('Clerk.addListener expects a function');
  listeners.add(fn);
  return () => { listeners.delete(fn); };
}

// ==== Session token cache and refresh

let cache = null;             // { sid, jwt, exp, deadline } - memory only, never persisted or logged
let cacheStamp = 0;           // bumped whenever the cache changes (to notice other tabs' tokens)
let knownDeadline = state.sessionId ? deadlineFor(state.sessionClaims, false) : 0;
let inflight = null;          // coalesces concurrent refreshes in this tab

const isSignedIn = () => state.isAuthenticated === true && !!state.sessionId;
const remainingS = () => ((cache && cache.sid === state.sessionId ? cache.deadline : knownDeadline) - Date.now()) / 1000;
const cacheFresh = () => !!cache && cache.sid === state.sessionId && (cache.deadline - Date.now()) / 1000 > LEEWAY_S;

// Store a freshly minted token (ours or another tab's). If its claims show a
// different user/session/org than this page was rendered for, the page is stale.
function adoptToken(sid, jwt, expHint) {
  const claims = decodeJwtPayload(jwt) || {};
  if (claims.exp === undefined && num(expHint) !== null) claims.exp = expHint;
  const exp = num(claims.exp) ?? 0;
  if (cache && cache.sid === sid && cache.exp > exp) return false; // we already hold a newer one
  cache = { sid, jwt, exp, deadline: deadlineFor(claims, true) };
  knownDeadline = cache.deadline;
  cacheStamp += 1;
  const claimOrg = claims.o && typeof claims.o === 'object' ? claims.o.id : claims.org_id;
  if ((claims.sub && claims.sub !== state.userId) || (claims.sid && claims.sid !== sid) ||
      (claimOrg !== undefined && (claimOrg || null) !== state.orgId)) {
    staleReload(); // e.g. the organization was switched by a plain form in another tab
    return true;
  }
  if (claims.exp !== undefined) state = { ...state, sessionClaims: claims };
  notify();
  return true;
}

// The server says the session is over: show it everywhere.
function sessionGone() {
  const sid = state.sessionId;
  state = signedOutState();
  cache = null;
  templateCache.clear();
  notify();
  broadcast({ type: 'signed_out', sid });
  reloadPage();
}

async function fetchSessionToken() {
  const sid = state.sessionId;
  let data;
  try {
    data = await api(sessionPath(sid, 'tokens'));
  } catch (err) {
    if (isSessionGone(err)) { sessionGone(); return null; }
    throw err;
  }
  const jwt = data?.jwt;
  if (typeof jwt !== 'string' || !jwt) throw new Error('Gatehouse: token response without a jwt');
  if (sid === state.sessionId && adoptToken(sid, jwt)) {
    broadcast({ type: 'token', sid, jwt, exp: cache.exp });
  }
  return jwt;
}

// Web Locks keep tabs from refreshing simultaneously; fall back to running
// directly when the API is missing or refuses (e.g. opaque origins).
function withLock(fn) {
  const locks = typeof navigator !== 'undefined' ? navigator.locks : null;
  if (!locks || typeof locks.request !== 'function') return Promise.resolve().then(fn);
  let ran = false;
  return locks.request(LOCK_NAME, () => { ran = true; return fn(); })
    .catch((err) => { if (ran) throw err; return fn(); });
}

function refreshSessionToken(force) {
  if (inflight) return inflight;
  const stampAtCall = cacheStamp;
  inflight = withLock(async () => {
    if (!state.sessionId || leaving) return null;
    // Another tab may have shared a fresh token while we waited for the lock.
    if (cacheFresh() && (!force || cacheStamp !== stampAtCall)) return cache.jwt;
    return fetchSessionToken();
  }).finally(() => { inflight = null; });
  return inflight;
}

// Template tokens, cached per session and template while more than
// LEEWAY_S of their life remain (memory only, like the session token).
const templateCache = new Map();

async function templateToken(template, skipCache) {
  const sid = state.sessionId;
  const key = `${sid}/${template}`;
  const hit = templateCache.get(key);
  if (!skipCache && hit && (hit.deadline - Date.now()) / 1000 > LEEWAY_S) return hit.jwt;
  let data;
  try {
    data = await api(sessionPath(sid, `tokens/${encodeURIComponent(template)}`));
  } catch (err) {
    // Only a 401 means the session is over; a 404 names an unknown template.
    if (err instanceof ClerkAPIError && err.status === 401) { sessionGone(); return null; }
    throw err;
  }
  if (typeof data?.jwt !== 'string') throw new Error('Gatehouse: token response without a jwt');
  templateCache.set(key, { jwt: data.jwt, deadline: deadlineFor(decodeJwtPayload(data.jwt) || {}, true) });
  return data.jwt;
}

async function getToken({ template, skipCache = false } = {}) {
  if (!isSignedIn()) return null;
  if (template) return templateToken(String(template), skipCache);
  if (!skipCache && cacheFresh()) return cache.jwt;
  return refreshSessionToken(skipCache);
}

// ==== Keep-alive poller: only while visible and holding a session.

let pollTimer = null;

function maybeRefresh() {
  if (leaving || !state.sessionId || document.hidden) return;
  if (remainingS() > LEEWAY_S) return;
  refreshSessionToken(false).catch(() => { /* network trouble: retry on the next tick */ });
}

function startPoller() {
  if (pollTimer === null && state.sessionId) pollTimer = setInterval(maybeRefresh, POLL_MS);
}

function stopPoller() {
  if (pollTimer !== null) { clearInterval(pollTimer); pollTimer = null; }
}

// ==== Public API

// Clerk's reverification presets: [minutes, level].
const REVERIFICATION_PRESETS = {
  strict_mfa: [10, 'multi_factor'], strict: [10, 'second_factor'],
  moderate: [60, 'second_factor'], lax: [1440, 'second_factor'],
};

// The parts of has(), as Clerk's SDKs decide them (@clerk/shared 4.41):
// 'skip' when not asked, else 'pass' or 'fail'.
function hasReverification(rule) {
  if (rule === undefined || rule === null) return 'skip';
  const fva = state.factorVerificationAge;
  const age = (x) => typeof x === 'number' && Number.isFinite(x) && (x === -1 || x >= 0);
  if (!Array.isArray(fva) || fva.length !== 2 || !age(fva[0]) || !age(fva[1])) return 'fail';
  const [minutes, level] = typeof rule === 'string' ? (REVERIFICATION_PRESETS[rule] ?? []) : [rule.afterMinutes, rule.level];
  if (!(typeof minutes === 'number' && minutes > 0) || !['first_factor', 'second_factor', 'multi_factor'].includes(level)) return 'fail';
  const [f1, f2] = fva;
  if (f1 === -1 && f2 === -1) return 'fail';
  const ok1 = f1 !== -1 && minutes > f1;
  const ok2 = f2 !== -1 && minutes > f2;
  let ok;
  if (level === 'first_factor') ok = ok1;
  else if (level === 'second_factor') ok = f2 === -1 ? ok1 : ok2;
  else ok = f2 === -1 ? ok1 : (f1 !== -1 && ok1 && ok2);
  return ok ? 'pass' : 'fail';
}

function hasOrg(role, permission) {
  if (!role && !permission) return 'skip';
  if (!state.orgId) return 'fail'; // role/permission checks need an active organization
  // As Clerk: any run of leading "org:" counts as exactly one, for roles and permissions.
  const norm = (k) => (typeof k === 'string' && k ? `org:${k.replace(/^(org:)+/, '')}` : null);
  if (role && (norm(state.orgRole) === null || norm(state.orgRole) !== norm(role))) return 'fail';
  if (permission && !(Array.isArray(state.orgPermissions) && state.orgPermissions.includes(norm(permission)))) return 'fail';
  return 'pass';
}

// has() passes when every part asked passes and at least one was asked.
function has(params) {
  if (!isSignedIn() || !params || typeof params !== 'object') return false;
  const parts = [hasOrg(params.role, params.permission), hasReverification(params.reverification)];
  return parts.some((p) => p === 'pass') && parts.every((p) => p !== 'fail');
}

// isReverificationError reports whether err asks for a fresher
// verification: the frontend API's code, or an API's 403 body.
const isReverificationError = (err) =>
  (err instanceof ClerkAPIError && err.code === 'session_reverification_required') ||
  err?.clerk_error?.reason === 'reverification-error';

// useReverification(fn) returns a function that runs fn and, when the
// server asks for a fresher verification, sends the person through the
// reverify page, which brings them back here.
function useReverification(fn) {
  return async (...args) => {
    try {
      return await fn(...args);
    } catch (err) {
      if (!isReverificationError(err)) throw err;
      const back = window.location.pathname + window.location.search + window.location.hash;
      window.location.assign(`/reverify?level=strict&redirect_url=${encodeURIComponent(back)}`);
      return new Promise(() => {}); // the page is leaving
    }
  };
}

let signingOut = null;

function signOut(opts = {}) {
  if (signingOut) return signingOut;
  signingOut = (async () => {
    const sid = state.sessionId;
    stopPoller(); // no refresh may race the end request
    if (sid) {
      try {
        await api(sessionPath(sid, 'end'));
      } catch (err) {
        if (!isSessionGone(err)) { signingOut = null; startPoller(); throw err; } // already gone is fine
      }
    }
    state = signedOutState();
    cache = null;
    notify();
    broadcast({ type: 'signed_out', sid });
    leaving = true;
    location.assign(opts.redirectUrl || env.afterSignOutUrl);
  })();
  return signingOut;
}

async function setActive(params = {}) {
  if (!params || !('organization' in params)) return; // nothing to change
  if (!isSignedIn()) throw new Error('Gatehouse: setActive requires a signed-in session');
  let org = params.organization;
  if (org && typeof org === 'object') org = org.id ?? null;
  org = org || null;
  await api(sessionPath(state.sessionId, 'touch'), { body: { active_organization_id: org } });
  // The real values arrive with the reload; until then only the id is known.
  state = { ...state, orgId: org, orgRole: null, orgSlug: null, orgPermissions: null, organization: null };
  cache = null; // the old token names the old organization
  templateCache.clear();
  notify();
  broadcast({ type: 'auth_changed' });
  reloadPage();
}

function useAuth() {
  return {
    isLoaded: true, isSignedIn: state.isAuthenticated === true,
    userId: state.userId, sessionId: state.sessionId, sessionStatus: state.sessionStatus,
    orgId: state.orgId, orgRole: state.orgRole, orgSlug: state.orgSlug, orgPermissions: state.orgPermissions,
    actor: state.actor,
    has, getToken, signOut,
  };
}

// The active organization: the resource when the page's loader gave it,
// else what the session token says (id and slug); the membership is the
// token's role and permissions in it.
function useOrganization() {
  if (!isSignedIn() || !state.orgId) return { isLoaded: true, organization: null, membership: null };
  const organization = state.organization && state.organization.id === state.orgId
    ? state.organization : { id: state.orgId, slug: state.orgSlug };
  return {
    isLoaded: true, organization,
    membership: { role: state.orgRole, permissions: state.orgPermissions ?? [], organization },
  };
}

const currentSession = () =>
  state.session ?? (isSignedIn() ? { id: state.sessionId, status: state.sessionStatus } : null);

// ==== The signed-in user's account (Clerk's user.* methods over /v1/me).
// Each resolves to the resource the server returns; the page's own state
// is refreshed by reloading it when the caller is done.

const mePath = (rest = '') =>
  `/me${rest}?_clerk_session_id=${encodeURIComponent(state.sessionId ?? '')}`;

function emailAddressResource(e) {
  if (!e || typeof e !== 'object') return e;
  const path = (rest) => mePath(`/email_addresses/${encodeURIComponent(e.id)}${rest}`);
  return {
    ...e,
    emailAddress: e.email_address,
    prepareVerification: (p = {}) => api(path('/prepare_verification'), { body: { strategy: p.strategy ?? 'email_code' } })
      .then(emailAddressResource),
    attemptVerification: (p = {}) => api(path('/attempt_verification'), { body: { code: p.code } }).then(emailAddressResource),
    destroy: () => api(path(''), { method: 'DELETE' }),
  };
}

function sessionResource(s) {
  if (!s || typeof s !== 'object') return s;
  return { ...s, revoke: () => api(mePath(`/sessions/${encodeURIComponent(s.id)}/revoke`), { body: {} }) };
}

function userResource(u) {
  if (!u || typeof u !== 'object') return null;
  return {
    ...u,
    emailAddresses: (u.email_addresses ?? []).map(emailAddressResource),
    externalAccounts: (u.external_accounts ?? []).map((a) => ({
      ...a, provider: String(a.provider ?? '').replace(/^oauth_(custom_)?/, ''), providerUserId: a.provider_user_id,
      emailAddress: a.email_address, firstName: a.first_name, lastName: a.last_name, imageUrl: a.image_url,
      username: a.username, verification: a.verification,
    })),
    update: (p = {}) => api(mePath(), {
      method: 'PATCH',
      body: Object.fromEntries(Object.entries({
        first_name: p.firstName, last_name: p.lastName, primary_email_address_id: p.primaryEmailAddressId,
      }).filter(([, v]) => v !== undefined)),
    }).then(userResource),
    updatePassword: (p = {}) => api(mePath('/change_password'), {
      body: { current_password: p.currentPassword, new_password: p.newPassword,
        sign_out_of_other_sessions: p.signOutOfOtherSessions === false ? 'false' : 'true' },
    }).then(userResource),
    createEmailAddress: (p = {}) => api(mePath('/email_addresses'), { body: { email_address: p.email } })
      .then(emailAddressResource),
    getSessions: () => api(mePath('/sessions/active'), { method: 'GET' }).then((list) => (list ?? []).map(sessionResource)),
    // Deleting needs the current password and the typed confirmation, as the profile's form.
    delete: (p = {}) => api(mePath(), {
      method: 'DELETE', body: { current_password: p.currentPassword, confirmation: p.confirmation },
    }),
    reload: () => api(mePath(), { method: 'GET' }).then(userResource),
    // Two-step verification: createTOTP returns the secret and URI, verifyTOTP
    // confirms the first code and returns the backup codes (shown once).
    createTOTP: () => api(mePath('/totp'), { body: {} }),
    verifyTOTP: (p = {}) => api(mePath('/totp/attempt_verification'), { body: { code: p.code } }),
    disableTOTP: () => api(mePath('/totp'), { method: 'DELETE' }),
    createBackupCode: () => api(mePath('/backup_codes'), { body: {} }),
    passkeys: (u.passkeys ?? []).map(passkeyResource),
    createPasskey: (p = {}) => createPasskey(p).then(passkeyResource),
  };
}

// ==== Passkeys (WebAuthn). The server's options are WebAuthn's JSON
// form (binary fields in base64url); the browser's API wants buffers.

const b64uToBuf = (s) => {
  const b64 = String(s).replace(/-/g, '+').replace(/_/g, '/');
  const bin = atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4));
  return Uint8Array.from(bin, (c) => c.charCodeAt(0)).buffer;
};
const bufToB64u = (buf) => {
  let bin = '';
  for (const b of new Uint8Array(buf)) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
};

const passkeysSupported = () => typeof window.PublicKeyCredential === 'function' && !!navigator.credentials;

function publicKeyOptions(nonce) {
  const parsed = typeof nonce === 'string' ? JSON.parse(nonce) : nonce;
  const pk = { ...(parsed?.publicKey ?? parsed) };
  pk.challenge = b64uToBuf(pk.challenge);
  if (pk.user) pk.user = { ...pk.user, id: b64uToBuf(pk.user.id) };
  for (const key of ['excludeCredentials', 'allowCredentials']) {
    if (Array.isArray(pk[key])) pk[key] = pk[key].map((c) => ({ ...c, id: b64uToBuf(c.id) }));
  }
  return { publicKey: pk, mediation: parsed?.mediation };
}

// credentialJSON is PublicKeyCredential.toJSON() where the browser lacks it.
function credentialJSON(cred) {
  if (typeof cred.toJSON === 'function') return cred.toJSON();
  const r = cred.response;
  const response = { clientDataJSON: bufToB64u(r.clientDataJSON) };
  if (r.attestationObject) {
    response.attestationObject = bufToB64u(r.attestationObject);
    response.transports = typeof r.getTransports === 'function' ? r.getTransports() : [];
  } else {
    response.authenticatorData = bufToB64u(r.authenticatorData);
    response.signature = bufToB64u(r.signature);
    if (r.userHandle) response.userHandle = bufToB64u(r.userHandle);
  }
  return { id: cred.id, rawId: bufToB64u(cred.rawId), type: cred.type, response,
    authenticatorAttachment: cred.authenticatorAttachment ?? null,
    clientExtensionResults: cred.getClientExtensionResults?.() ?? {} };
}

// user.createPasskey({name}): creation options from the frontend API, the
// browser makes the credential, the frontend API verifies and stores it.
async function createPasskey(p = {}) {
  const started = await api(mePath('/passkeys'), { body: {} });
  const cred = await navigator.credentials.create(publicKeyOptions(started.verification.nonce));
  return api(mePath(`/passkeys/${encodeURIComponent(started.id)}/attempt_verification`), { body: {
    strategy: 'passkey', public_key_credential: JSON.stringify(credentialJSON(cred)), name: p.name ?? '',
  } });
}

// signIn.authenticateWithPasskey({flow}): a discoverable sign-in; flow
// 'autofill' waits for the person to pick a passkey in the address field's
// autofill (conditional mediation), and signal aborts it.
async function authenticateWithPasskey(p = {}) {
  const started = await api('/client/sign_ins', { body: { strategy: 'passkey' } });
  const opts = publicKeyOptions(started.first_factor_verification.nonce);
  if (p.flow === 'autofill') opts.mediation = 'conditional';
  else delete opts.mediation;
  if (p.signal) opts.signal = p.signal;
  const cred = await navigator.credentials.get(opts);
  return api(`/client/sign_ins/${encodeURIComponent(started.id)}/attempt_first_factor`, { body: {
    strategy: 'passkey', public_key_credential: JSON.stringify(credentialJSON(cred)),
  } });
}

const passkeyResource = (pk) => pk && typeof pk === 'object' ? {
  ...pk, lastUsedAt: pk.last_used_at ?? null,
  update: (q = {}) => api(mePath(`/passkeys/${encodeURIComponent(pk.id)}`), { method: 'PATCH', body: { name: q.name } }),
  delete: () => api(mePath(`/passkeys/${encodeURIComponent(pk.id)}`), { method: 'DELETE' }),
} : pk;

// signIn/signUp.authenticateWithRedirect({strategy: 'oauth_google', redirectUrl,
// redirectUrlComplete}): the frontend API starts the flow (its cookie is set on
// this browser) and names the provider's page; the provider sends the browser
// back to the server's callback, which signs in and goes on to
// redirectUrlComplete (else redirectUrl).
function authenticateWithRedirect(kind) {
  return async (p = {}) => {
    const res = await api(`/client/${kind}`, { body: {
      strategy: p.strategy, redirect_url: p.redirectUrl ?? '', action_complete_redirect_url: p.redirectUrlComplete ?? '',
    } });
    const v = kind === 'sign_ins' ? res?.first_factor_verification : res?.verifications?.external_account;
    const next = v?.external_verification_redirect_url;
    if (typeof next !== 'string' || !next) throw new ClerkAPIError(500, res);
    window.location.assign(next);
    return res;
  };
}

const client = {
  signIn: { authenticateWithRedirect: authenticateWithRedirect('sign_ins'), authenticateWithPasskey },
  signUp: { authenticateWithRedirect: authenticateWithRedirect('sign_ups') },
};

const Clerk = {
  version: VERSION, client, isLoaded: true, loaded: true, publishableKey: env.publishableKey,
  get session() { return currentSession(); },
  get user() { return userResource(state.user); },
  get organization() { return useOrganization().organization; },
  get isSignedIn() { return state.isAuthenticated === true; },
  load: () => Promise.resolve(),
  useAuth,
  useUser: () => ({ isLoaded: true, isSignedIn: state.isAuthenticated === true, user: userResource(state.user) }),
  useSession: () => ({ isLoaded: true, isSignedIn: state.isAuthenticated === true, session: currentSession() }),
  useOrganization,
  has, getToken, signOut, setActive, addListener, useReverification, isReverificationError,
  __internal_state: () => JSON.parse(JSON.stringify(state)),
};

window.Clerk = Clerk;
export default Clerk;

// ==== Cross-tab consistency

channel?.addEventListener('message', (event) => {
  const msg = event.data;
  if (leaving || !msg || typeof msg !== 'object') return;
  switch (msg.type) {
    case 'token':
      if (msg.sid && msg.sid === state.sessionId && typeof msg.jwt === 'string') adoptToken(msg.sid, msg.jwt, msg.exp);
      break;
    case 'signed_out':
      // A tab already rendered signed out has nothing to update (and may hold a half-filled sign-in form).
      if (state.isAuthenticated || state.sessionId) reloadPage();
      break;
    case 'auth_changed':
      reloadPage();
      break;
    case 'hello': // another tab just loaded; if it saw a different auth state, ours is stale
      if ((msg.userId ?? null) !== state.userId || (msg.sessionId ?? null) !== state.sessionId ||
          (msg.orgId ?? null) !== state.orgId) staleReload();
      break;
  }
});

broadcast({ type: 'hello', userId: state.userId, sessionId: state.sessionId, orgId: state.orgId });

// ==== Progressive enhancement of server-rendered HTML (delegated, so absent or
// late-added elements are fine).

const busyForms = new WeakSet();
const nativeForms = new WeakSet(); // forms we hand back to the browser after a JS failure

function enhanceSubmit(event, form, action) {
  event.preventDefault();
  if (busyForms.has(form)) return; // double submit
  busyForms.add(form);
  form.setAttribute('aria-busy', 'true');
  const submitter = event.submitter || null;
  Promise.resolve().then(action).catch(() => {
    // Let the server handle it (and render any error) the no-JS way.
    busyForms.delete(form);
    form.removeAttribute('aria-busy');
    nativeForms.add(form);
    if (typeof form.requestSubmit === 'function') form.requestSubmit(submitter || undefined);
    else HTMLFormElement.prototype.submit.call(form);
  });
}

document.addEventListener('submit', (event) => {
  const form = event.target;
  if (!(form instanceof HTMLFormElement) || event.defaultPrevented) return;
  // Destructive forms ask first (data-confirm holds the question).
  if (form.dataset.confirm && !nativeForms.has(form) && !window.confirm(form.dataset.confirm)) {
    event.preventDefault();
    return;
  }
  if (nativeForms.has(form)) { nativeForms.delete(form); return; }
  if (form.hasAttribute('data-clerk-sign-out')) {
    enhanceSubmit(event, form, () => signOut());
  } else if (form.hasAttribute('data-clerk-set-active')) {
    let data;
    try { data = new FormData(form, event.submitter || undefined); } catch { data = new FormData(form); }
    const value = data.get('organization_id');
    enhanceSubmit(event, form, () => setActive({ organization: typeof value === 'string' && value ? value : null }));
  }
});

// Passkey controls need WebAuthn: shown only where it exists.
function passkeyError(scope, err) {
  const el = scope?.querySelector('[data-passkey-error]') ?? document.querySelector('[data-passkey-error]');
  if (!el) return;
  const cancelled = err?.name === 'NotAllowedError' || err?.name === 'AbortError';
  // The frontend API's message is the one written for people.
  const said = err instanceof ClerkAPIError ? err.errors[0]?.message : null;
  el.textContent = cancelled ? 'The passkey was not used. Try again.' : (said || 'The passkey did not work. Try again.');
  el.hidden = false;
}

function afterPasskeySignIn(res, redirect) {
  if (res?.status === 'complete') {
    window.location.assign(redirect || '/');
  } else if (res?.status === 'needs_second_factor') {
    window.location.assign(`/sign-in/factor-two${redirect ? `?redirect_url=${encodeURIComponent(redirect)}` : ''}`);
  }
}

if (passkeysSupported()) {
  for (const el of document.querySelectorAll('[data-passkey-sign-in], form[data-passkey-add], [data-passkey-divider]')) el.hidden = false;
  const button = document.querySelector('[data-passkey-sign-in]');
  let autofill = null;
  button?.addEventListener('click', async () => {
    autofill?.abort(); // one WebAuthn request at a time
    button.disabled = true;
    try {
      afterPasskeySignIn(await authenticateWithPasskey(), button.dataset.redirect);
    } catch (err) {
      passkeyError(button.parentElement, err);
    } finally {
      button.disabled = false;
    }
  });
  // Autofill: the address field offers the passkeys of this site.
  const field = document.querySelector('input[autocomplete~="webauthn"]');
  if (button && field && typeof PublicKeyCredential.isConditionalMediationAvailable === 'function') {
    PublicKeyCredential.isConditionalMediationAvailable().then((ok) => {
      if (!ok) return;
      autofill = new AbortController();
      authenticateWithPasskey({ flow: 'autofill', signal: autofill.signal })
        .then((res) => afterPasskeySignIn(res, button.dataset.redirect))
        .catch(() => { /* cancelled or aborted: the button still works */ });
    }).catch(() => {});
  }
  document.querySelector('form[data-passkey-add]')?.addEventListener('submit', (event) => {
    event.preventDefault();
    const form = event.currentTarget;
    const name = new FormData(form).get('name');
    const add = useReverification(() => createPasskey({ name: typeof name === 'string' ? name : '' }));
    form.querySelector('button')?.setAttribute('disabled', '');
    add().then(() => window.location.assign('/profile?done=passkey_added#passkeys'))
      .catch((err) => passkeyError(form.parentElement, err))
      .finally(() => form.querySelector('button')?.removeAttribute('disabled'));
  });
}

const openMenus = () => document.querySelectorAll('details[data-clerk-menu][open]');

document.addEventListener('click', (event) => {
  for (const menu of openMenus()) {
    if (!menu.contains(event.target)) menu.open = false;
  }
});

document.addEventListener('keydown', (event) => {
  if (event.key !== 'Escape') return;
  for (const menu of openMenus()) {
    const hadFocus = menu.contains(document.activeElement);
    menu.open = false;
    if (hadFocus) menu.querySelector('summary')?.focus(); // keep keyboard users oriented
  }
});

// A code page's resend button waits out its cooldown (the server refuses
// earlier resends anyway); without JavaScript it says how long to wait.
for (const button of document.querySelectorAll('button[data-resend-in]')) {
  let left = Number(button.dataset.resendIn) || 0;
  const tick = () => {
    if (left <= 0) {
      button.disabled = false;
      button.textContent = "Didn't get it? Resend code";
      return;
    }
    button.textContent = `Resend code in ${left} s`;
    left -= 1;
    setTimeout(tick, 1000);
  };
  tick();
}

// ==== Start keeping the session alive. The first check runs now but makes no
// request while the embedded token still has more than LEEWAY_S to live.

document.addEventListener('visibilitychange', () => { if (!document.hidden) maybeRefresh(); });
window.addEventListener('focus', maybeRefresh);
window.addEventListener('pageshow', (event) => { if (event.persisted) maybeRefresh(); }); // back/forward cache
startPoller();
maybeRefresh();
