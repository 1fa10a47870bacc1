// Verifies Gatehouse tokens with Clerk's own SDK (@clerk/backend) and with
// a standard JWT library (jose), and prints what they decode.
//
// Input (stdin, JSON):
//   { appUrl, secretKey, publishableKey, jwtKey, authorizedParties,
//     sessionTokens: [{ name, token }],
//     templateTokens: [{ name, token, alg, secret?, jwks?, publicKeyPem?, issuer }],
//     rejectedPublishableKeys: [key] }
// Output (stdout, JSON): one result per input, in the same order.
import { createClerkClient, verifyToken } from '@clerk/backend';
import { createLocalJWKSet, importSPKI, jwtVerify } from 'jose';

// The fields of Clerk's auth object that the Go side compares with GetAuth.
// JavaScript's undefined has no JSON form; it is reported as null.
const authFields = ['tokenType', 'isAuthenticated', 'userId', 'sessionId', 'sessionStatus', 'actor',
  'orgId', 'orgRole', 'orgSlug', 'orgPermissions', 'factorVerificationAge'];
const pick = (obj) => Object.fromEntries(authFields.map((k) => [k, obj?.[k] ?? null]));
const describe = (err) => (err ? `${err.reason ?? err.code ?? err.name ?? 'error'}: ${err.message}` : null);

async function readStdin() {
  const chunks = [];
  for await (const c of process.stdin) chunks.push(c);
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

// The has() checks the Go side repeats with Auth.Has, reverification
// presets and custom rules alone and with a role or a permission.
const hasChecks = [
  { reverification: 'strict_mfa' }, { reverification: 'strict' }, { reverification: 'moderate' }, { reverification: 'lax' },
  { reverification: { level: 'first_factor', afterMinutes: 1 } },
  { reverification: { level: 'second_factor', afterMinutes: 5 } },
  { reverification: { level: 'multi_factor', afterMinutes: 3 } },
  { permission: 'org:team:manage', reverification: 'strict' },
  { role: 'admin', reverification: 'lax' },
];

async function authenticate(clerk, input, token) {
  const request = new Request(`${input.appUrl}/api/me`, { headers: { Authorization: `Bearer ${token}` } });
  const state = await clerk.authenticateRequest(request, { authorizedParties: input.authorizedParties });
  const auth = state.toAuth();
  const has = hasChecks.map((p) => (typeof auth?.has === 'function' ? auth.has(p) : null));
  return { isSignedIn: state.isSignedIn, status: state.status, reason: state.reason ?? null, auth: pick(auth), has };
}

async function sessionToken(clerk, input, { name, token }) {
  const out = { name };
  const verified = await verifyToken(token, { jwtKey: input.jwtKey, authorizedParties: input.authorizedParties });
  if (verified.errors) {
    out.verifyError = describe(verified.errors[0]);
  } else {
    out.payload = verified.data ?? verified;
  }
  out.request = await authenticate(clerk, input, token);
  return out;
}

async function templateToken(clerk, input, t) {
  const out = { name: t.name };
  try {
    let key;
    if (t.alg === 'HS256') key = new TextEncoder().encode(t.secret);
    else if (t.jwks) key = createLocalJWKSet(t.jwks);
    else key = await importSPKI(t.publicKeyPem, 'RS256');
    const { payload, protectedHeader } = await jwtVerify(t.token, key, {
      algorithms: [t.alg], issuer: t.issuer, typ: 'JWT', clockTolerance: 5,
    });
    out.payload = payload;
    out.header = protectedHeader;
  } catch (err) {
    out.verifyError = describe(err);
  }
  // Clerk's SDK must never take a template token for a session token.
  out.asSessionToken = await authenticate(clerk, input, t.token);
  return out;
}

async function rejectedKey(input, key) {
  try {
    const clerk = createClerkClient({ secretKey: input.secretKey, publishableKey: key, jwtKey: input.jwtKey, telemetry });
    await clerk.authenticateRequest(new Request(`${input.appUrl}/`), {});
    return { key, error: null };
  } catch (err) {
    return { key, error: String(err.message).split('\n')[0] };
  }
}

// Nothing may leave the machine: no telemetry.
const telemetry = { disabled: true };
const input = await readStdin();
const clerk = createClerkClient({ secretKey: input.secretKey, publishableKey: input.publishableKey, jwtKey: input.jwtKey, telemetry });
const result = { sessionTokens: [], templateTokens: [], rejectedPublishableKeys: [] };
for (const s of input.sessionTokens ?? []) result.sessionTokens.push(await sessionToken(clerk, input, s));
for (const t of input.templateTokens ?? []) result.templateTokens.push(await templateToken(clerk, input, t));
for (const k of input.rejectedPublishableKeys ?? []) result.rejectedPublishableKeys.push(await rejectedKey(input, k));
process.stdout.write(JSON.stringify(result));
