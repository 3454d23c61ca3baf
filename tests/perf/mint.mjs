// Setup helper for tests/perf/run.sh: mints what the wrk scenarios consume
// and checks, once, that each server answers as the scenario expects.
//
//   node mint.mjs check-signin                 sign-in/email answers 200
//   node mint.mjs introspect-token [opaque]    prints an access token that
//                                              introspects as active:true
//   node mint.mjs devices N OUT                N pending device codes
//   node mint.mjs codes N OUT                  N authorization codes
//   node mint.mjs refresh N OUT                N refresh tokens (one grant each)
//
// Environment (set by run.sh):
//   PERF_BASE           where to send requests (http://127.0.0.1:PORT)
//   PERF_ISSUER         the server's issuer (Origin of sign-in requests)
//   PERF_RESOURCE       resource indicator for JWT access tokens
//   PERF_CLIENT_ID, PERF_CLIENT_SECRET   the confidential benchmark client
//   PERF_EMAIL, PERF_PASSWORD            the benchmark user (Portcullis only)
//   PERF_REDIRECT       the client's redirect URI
//   MINT_CONCURRENCY    requests in flight while minting (default 32)
//
// Minting keeps MINT_CONCURRENCY requests in flight (about 1,000 codes or 500
// refresh tokens a second against one Portcullis core); any failure stops the
// run with the server's answer.

import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';

const env = (k) => {
  const v = process.env[k];
  if (!v) throw new Error(`${k} is not set`);
  return v;
};

const base = env('PERF_BASE');
const basic = `Basic ${Buffer.from(`${env('PERF_CLIENT_ID')}:${env('PERF_CLIENT_SECRET')}`).toString('base64')}`;
const concurrency = Number(process.env.MINT_CONCURRENCY || 32);

// One fixed PKCE verifier for every code: the benchmark measures the server,
// not the client's randomness.
const verifier = 'perf-verifier-0123456789abcdefghijklmnopqrstuvwxyz-ABCDEFGH';
const challenge = createHash('sha256').update(verifier).digest('base64url');

function fail(what, status, body) {
  console.error(`mint: ${what}: HTTP ${status} ${String(body).slice(0, 500)}`);
  process.exit(1);
}

async function form(path, fields, { auth = true } = {}) {
  const res = await fetch(base + path, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      ...(auth ? { authorization: basic } : {}),
    },
    body: new URLSearchParams(fields),
  });
  const text = await res.text();
  let json;
  try { json = JSON.parse(text); } catch { json = undefined; }
  return { status: res.status, text, json };
}

// Runs fn(i) for i in [0, n) with `concurrency` calls in flight.
async function pool(n, fn) {
  const out = new Array(n);
  let next = 0;
  async function worker() {
    while (next < n) {
      const i = next++;
      out[i] = await fn(i);
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, worker));
  return out;
}

async function signIn() {
  const res = await fetch(`${base}/.auth/api/v1/auth/sign-in/email`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: env('PERF_ISSUER') },
    body: JSON.stringify({ email: env('PERF_EMAIL'), password: env('PERF_PASSWORD') }),
  });
  const text = await res.text();
  if (res.status !== 200) fail('sign-in', res.status, text);
  const cookie = res.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
  if (!cookie) fail('sign-in set no cookie', res.status, text);
  return cookie;
}

async function authorizationCode(cookie) {
  const q = new URLSearchParams({
    response_type: 'code',
    client_id: env('PERF_CLIENT_ID'),
    redirect_uri: env('PERF_REDIRECT'),
    scope: 'openid offline_access',
    state: 'x',
    code_challenge: challenge,
    code_challenge_method: 'S256',
  });
  const res = await fetch(`${base}/oauth2/authorize?${q}`, { headers: { cookie }, redirect: 'manual' });
  const text = await res.text();
  const location = res.headers.get('location');
  const code = location && new URL(location, base).searchParams.get('code');
  if (!code) fail(`authorize (Location: ${location})`, res.status, text);
  return code;
}

async function exchange(code) {
  const r = await form('/oauth2/token', {
    grant_type: 'authorization_code',
    code,
    redirect_uri: env('PERF_REDIRECT'),
    code_verifier: verifier,
  });
  if (r.status !== 200 || !r.json?.refresh_token) fail('code exchange', r.status, r.text);
  return r.json;
}

const [cmd, nArg, outFile] = process.argv.slice(2);
const n = Number(nArg);
const write = (lines) => writeFileSync(outFile, `${lines.join('\n')}\n`);
const started = Date.now();

switch (cmd) {
  case 'check-signin': {
    await signIn();
    break;
  }
  case 'introspect-token': {
    // Portcullis: the JWT access token of the client_credentials scenario.
    // Peer ("opaque"): oidc-provider refuses to introspect JWT access tokens
    // (unsupported_token_type), so it gets its opaque client_credentials token.
    const opaque = nArg === 'opaque';
    const r = await form('/oauth2/token', {
      grant_type: 'client_credentials',
      ...(opaque ? {} : { resource: env('PERF_RESOURCE') }),
    });
    if (r.status !== 200) fail('client_credentials', r.status, r.text);
    const token = r.json.access_token;
    const i = await form('/oauth2/introspect', { token });
    if (i.status !== 200 || i.json?.active !== true) fail('introspection is not active:true', i.status, i.text);
    process.stdout.write(`${token}\n`);
    break;
  }
  case 'devices': {
    const codes = await pool(n, async () => {
      const r = await form('/oauth2/device_authorization', { scope: 'openid' });
      if (r.status !== 200 || !r.json?.device_code) fail('device authorization', r.status, r.text);
      return r.json.device_code;
    });
    // One poll must say authorization_pending before any load is put on them.
    const p = await form('/oauth2/token', {
      grant_type: 'urn:ietf:params:oauth:grant-type:device_code',
      device_code: codes[0],
    });
    if (p.status !== 400 || p.json?.error !== 'authorization_pending') fail('device poll', p.status, p.text);
    write(codes);
    break;
  }
  case 'codes': {
    const cookie = await signIn();
    write(await pool(n, () => authorizationCode(cookie)));
    break;
  }
  case 'refresh': {
    const cookie = await signIn();
    write(await pool(n, async () => (await exchange(await authorizationCode(cookie))).refresh_token));
    break;
  }
  default:
    console.error('usage: node mint.mjs check-signin | introspect-token [opaque] | devices|codes|refresh N OUT');
    process.exit(2);
}

if (outFile) console.error(`mint: ${cmd} ${n} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
