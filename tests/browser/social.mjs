// Signing in through another site in a real browser (issue 21), with a second
// Portcullis as the upstream OpenID provider ($UPSTREAM, on 127.0.0.1, so its
// cookies never mix with the main server's on localhost). Run by run.sh,
// which creates alice@example.com and bob@acme.test (verified) upstream and
// configures the main server's [[oidc_providers]] "upstream".
//  1. /login → "Continue with Upstream IdP" → the upstream's login and
//     consent → back, signed in; the home page lists the connection.
//  2. Enterprise SSO: a signed-in owner connects the upstream for acme.test,
//     proves the domain with the mailed link; then bob@acme.test typed on
//     /login is handed over to it and comes back signed in.
// Screenshots go to $OUT (social-*.png).
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import path from 'node:path';
const BASE = process.env.BASE || 'http://localhost:8099';
const UPSTREAM = process.env.UPSTREAM || 'http://127.0.0.1:8098';
const OUT = process.env.OUT || '.';
const MAIL = process.env.MAIL_DIR;
const PASSWORD = process.env.PASSWORD || 'correct horse battery';
const API = '/.auth/api/v1/auth';
let step = 0;
const shot = (page, name) => page.screenshot({ path: `${OUT}/social-${String(++step).padStart(2, '0')}-${name}.png`, fullPage: true });
function check(ok, what) { if (!ok) throw new Error(what); console.log('ok:', what); }

// A link from the outbox (.eml, quoted-printable) to `to`, whose path is `p`.
async function mailedLink(to, p) {
  const re = new RegExp(`https?://[^\\s"<]*${p.replace(/[/?]/g, '\\$&')}\\?token=[\\w-]+`);
  for (let i = 0; i < 100; i++) {
    for (const f of fs.existsSync(MAIL) ? fs.readdirSync(MAIL) : []) {
      const mail = fs.readFileSync(path.join(MAIL, f), 'utf8').replace(/=\r?\n/g, '').replace(/=3D/g, '=');
      const m = mail.includes(`To: ${to}`) && mail.match(re);
      if (m) return m[0];
    }
    await new Promise(r => setTimeout(r, 50));
  }
  throw new Error(`no ${p} mail to ${to}`);
}

const session = page => page.evaluate(api => fetch(`${api}/get-session`).then(r => r.json()), API);

// At the upstream: sign in as `email`, allow the consent screen if asked,
// and wait to be back on the main server.
async function atUpstream(page, email, name) {
  await page.waitForURL(u => u.href.startsWith(`${UPSTREAM}/login`));
  await page.fill('input[name=email]', email);
  await page.fill('input[name=password]', PASSWORD);
  await shot(page, `${name}-upstream-login`);
  await page.click('form[action="/login"] button[type=submit]');
  await page.waitForURL(u => u.href.startsWith(BASE) || u.pathname.startsWith('/oauth2/consent') || u.pathname.startsWith('/oauth2/authorize'));
  if (page.url().startsWith(UPSTREAM)) {
    await page.waitForSelector('form.decision button[value=allow]');
    await shot(page, `${name}-upstream-consent`);
    await page.click('form.decision button[value=allow]');
  }
  await page.waitForURL(u => u.href.startsWith(BASE));
  await page.waitForLoadState('load');
}

// 1. A provider button on /login.
async function socialButton(browser) {
  const page = await (await browser.newContext()).newPage();
  await page.goto(`${BASE}/login`);
  const button = page.locator('a.provider', { hasText: 'Continue with Upstream IdP' });
  check(await button.count() === 1, '/login shows "Continue with Upstream IdP"');
  await shot(page, 'login-providers');
  await button.click();
  await atUpstream(page, 'alice@example.com', 'button');
  await page.goto(`${BASE}/`);
  const text = await page.innerText('body');
  await shot(page, 'home-after-upstream');
  const s = await session(page);
  check(s?.user?.email === 'alice@example.com', 'signed in on the main server as alice@example.com');
  check(text.includes('alice@example.com'), 'the home page shows the address');
  check(await page.locator('[data-connection=upstream]', { hasText: 'Upstream IdP' }).count() === 1, '"Upstream IdP" is under connected accounts');
  await page.context().close();
}

// A client at the upstream for the SSO connection (dynamic registration,
// RFC 7591); its redirect URI is set once the connection has its id (RFC 7592).
async function upstreamClient() {
  const res = await fetch(`${UPSTREAM}/oauth2/register`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ client_name: 'Acme SSO', grant_types: ['authorization_code'], scope: 'openid email profile', token_endpoint_auth_method: 'client_secret_basic', redirect_uris: [`${BASE}${API}/callback/pending`] }),
  });
  check(res.status === 201, `dynamic registration at the upstream (${res.status})`);
  return res.json();
}

async function redirectTo(client, providerId) {
  const body = { client_id: client.client_id, client_name: client.client_name, grant_types: client.grant_types, scope: client.scope, token_endpoint_auth_method: client.token_endpoint_auth_method, redirect_uris: [`${BASE}${API}/callback/${providerId}`] };
  const res = await fetch(client.registration_client_uri, { method: 'PUT', headers: { 'content-type': 'application/json', authorization: `Bearer ${client.registration_access_token}` }, body: JSON.stringify(body) });
  check(res.status === 200, `the upstream client now redirects to callback/${providerId} (${res.status})`);
}

// 2a. An owner connects the upstream for acme.test and proves the domain.
async function connectDomain(browser) {
  const page = await (await browser.newContext()).newPage();
  await page.goto(`${BASE}/signup`);
  await page.fill('input[name=name]', 'Olive Owner');
  await page.fill('input[name=email]', `owner${Date.now()}@example.com`);
  await page.fill('input[name=password]', PASSWORD);
  await page.click('button[type=submit]');
  await page.waitForURL(`${BASE}/`);
  const client = await upstreamClient();
  const reg = await page.evaluate(([api, body]) => fetch(`${api}/sso/register`, { method: 'POST', credentials: 'include', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }).then(async r => ({ status: r.status, body: await r.json() })),
    [API, { domain: 'acme.test', issuer: UPSTREAM, clientId: client.client_id, clientSecret: client.client_secret }]);
  check(reg.status === 200 && reg.body.domainVerified === false, `sso/register answered ${reg.status} ${JSON.stringify(reg.body)}`);
  check(reg.body.proofSentTo === 'postmaster@acme.test', 'the proof went to postmaster@acme.test');
  await redirectTo(client, reg.body.providerId);
  await page.goto(await mailedLink('postmaster@acme.test', '/sso/verify-domain'));
  await page.waitForSelector('form[action="/sso/verify-domain"] button[type=submit]');
  check((await page.innerText('body')).includes('acme.test'), 'the confirm page names acme.test');
  await shot(page, 'sso-confirm-domain');
  await page.click('form[action="/sso/verify-domain"] button[type=submit]');
  await page.waitForLoadState('load');
  await shot(page, 'sso-domain-on');
  check((await page.innerText('body')).includes('Single sign-on is on'), '"Single sign-on is on"');
  await page.context().close();
  return reg.body.providerId;
}

// 2b. bob@acme.test types his address and is handed over.
async function signInByAddress(browser, providerId) {
  const page = await (await browser.newContext()).newPage();
  await page.goto(`${BASE}/login`);
  await page.fill('input[name=email]', 'bob@acme.test');
  await page.click('form[action="/login"] button[type=submit]');
  const go = page.locator('a', { hasText: 'Continue to single sign-on' });
  await go.waitFor();
  check((await go.getAttribute('href')).includes(`/sign-in/${providerId}`), 'the hand-off links to the connection');
  await shot(page, 'sso-hand-off');
  await go.click();
  await atUpstream(page, 'bob@acme.test', 'sso');
  await page.goto(`${BASE}/`);
  await shot(page, 'sso-home');
  const s = await session(page);
  check(s?.user?.email === 'bob@acme.test' && s.user.emailVerified === true, 'signed in on the main server as bob@acme.test, verified');
  check((await page.innerText('body')).includes('bob@acme.test'), 'the home page shows bob@acme.test');
  check(await page.locator(`[data-connection=${providerId}]`, { hasText: 'Single sign-on' }).count() === 1, '"Single sign-on" is under connected accounts');
  await page.context().close();
}

const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
try {
  await socialButton(browser);
  const providerId = await connectDomain(browser);
  await signInByAddress(browser, providerId);
  console.log('social browser check passed');
} finally {
  await browser.close();
}
