// The screens in a real browser: Debian's Chromium with a virtual WebAuthn
// authenticator (Chrome DevTools Protocol). Signs up on /signup, adds a
// passkey with static/js/passkey.js, signs in by autofill (conditional
// mediation) and by the button, turns TOTP on, and signs in with a password
// and the /login/2fa screen. Screenshots go to $OUT. Run by run.sh.
import { chromium } from 'playwright-core';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
const BASE = process.env.BASE || 'http://localhost:8099';
const OUT = process.env.OUT || '.';
const MAIL = process.env.MAIL_DIR;
const email = `b${Date.now()}@example.com`, password = 'correct horse battery';

function b32(s) { const a='ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'; let bits='', out=[]; for (const c of s.replace(/=+$/,'')) bits += a.indexOf(c).toString(2).padStart(5,'0'); for (let i=0;i+8<=bits.length;i+=8) out.push(parseInt(bits.slice(i,i+8),2)); return Buffer.from(out); }
function totp(secret, t = Date.now()/1000) { const c = Buffer.alloc(8); c.writeBigUInt64BE(BigInt(Math.floor(t/30))); const h = crypto.createHmac('sha1', b32(secret)).update(c).digest(); const o = h[19] & 15; return String((h.readUInt32BE(o) & 0x7fffffff) % 1e6).padStart(6,'0'); }

// The verification link from the outbox (.eml, quoted-printable).
async function verificationLink(to) {
  for (let i = 0; i < 100; i++) {
    for (const f of fs.readdirSync(MAIL)) {
      const mail = fs.readFileSync(path.join(MAIL, f), 'utf8').replace(/=\r?\n/g, '').replace(/=3D/g, '=');
      const m = mail.includes(`To: ${to}`) && mail.match(/https?:\/\/[^\s"<]*verify-email\?token=[\w-]+/);
      if (m) return m[0];
    }
    await new Promise(r => setTimeout(r, 50));
  }
  throw new Error(`no verification mail to ${to}`);
}

const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
const page = await browser.newPage();
const cdp = await page.context().newCDPSession(page);
await cdp.send('WebAuthn.enable');
const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', { options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true } });

await page.goto(`${BASE}/signup`);
await page.fill('input[name=name]', 'Browser Test');
await page.fill('input[name=email]', email);
await page.fill('input[name=password]', password);
await page.click('button[type=submit]');
await page.waitForURL(`${BASE}/`);
// Passkeys are added to verified accounts only: follow the mailed link. It
// opens a confirm page (a GET changes nothing; mail scanners prefetch), whose
// button confirms the address.
await page.goto(await verificationLink(email));
await page.waitForURL(/\/verify-email/);
await page.screenshot({ path: `${OUT}/confirm-email.png` });
await page.click('form[action="/verify-email"] button[type=submit]');
await page.waitForLoadState('load');
await page.goto(`${BASE}/`);
await page.click('[data-passkey-register]');
await page.waitForLoadState('load');
await page.waitForFunction(() => document.body.innerText.includes('Passkeys\n1') || document.body.innerText.match(/Passkeys\s+1/));
await page.screenshot({ path: `${OUT}/home.png` });
console.log('registered; credentials on authenticator:', (await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials.length);

// Conditional UI: the virtual authenticator answers the autofill request by
// itself, so the login page signs straight back in.
await page.click('form[action="/logout"] button');
await page.waitForURL(`${BASE}/`);
console.log('autofill (conditional mediation) sign-in:', (await page.evaluate(() => fetch('/.auth/api/v1/auth/get-session').then(r => r.json()))).user.email);
// The button: with presence off the autofill request stays pending; the
// button must cancel it and run its own.
await cdp.send('WebAuthn.setAutomaticPresenceSimulation', { authenticatorId, enabled: false });
await page.click('form[action="/logout"] button');
await page.waitForURL(/\/login/);
await page.screenshot({ path: `${OUT}/login.png` });
await cdp.send('WebAuthn.setAutomaticPresenceSimulation', { authenticatorId, enabled: true });
await page.click('[data-passkey-login]');
await page.waitForURL(`${BASE}/`);
const s1 = await page.evaluate(() => fetch('/.auth/api/v1/auth/get-session').then(r => r.json()));
if (!s1 || s1.user.email !== email) throw new Error('the passkey button did not sign in');
console.log('passkey button sign-in:', s1.user.email);

// TOTP: enable, confirm, then a password sign-in asks for the code.
const e = await page.evaluate(p => fetch('/.auth/api/v1/auth/two-factor/enable', { method: 'POST', headers: {'content-type':'application/json'}, body: JSON.stringify({ password: p }) }).then(r => r.json()), password);
const v = await page.evaluate(c => fetch('/.auth/api/v1/auth/two-factor/verify', { method: 'POST', headers: {'content-type':'application/json'}, body: JSON.stringify({ code: c }) }).then(r => r.status), totp(e.secret));
if (v !== 200) throw new Error(`TOTP confirmation answered ${v}`);
console.log('totp confirmed');
await page.goto(`${BASE}/`);
await cdp.send('WebAuthn.setAutomaticPresenceSimulation', { authenticatorId, enabled: false });
await page.click('form[action="/logout"] button');
await page.waitForURL(/\/login/);
await page.fill('input[name=email]', email);
await page.fill('input[name=password]', password);
await page.click('form[action="/login"] button[type=submit]');
await page.waitForURL(/\/login\/2fa/);
await page.fill('input[name=code]', '000000');
await page.click('form[action="/login/2fa"] button');
await page.waitForLoadState('load');
await page.screenshot({ path: `${OUT}/2fa-error.png` });
// The confirming code's time step is spent; a backup code needs no waiting.
await page.fill('input[name=code]', e.backupCodes[0]);
await page.click('form[action="/login/2fa"] button');
await page.waitForURL(`${BASE}/`);
await page.screenshot({ path: `${OUT}/home-2fa.png` });
const s2 = await page.evaluate(() => fetch('/.auth/api/v1/auth/get-session').then(r => r.json()));
if (!s2 || s2.user.email !== email) throw new Error('the second factor did not sign in');
console.log('password + backup code sign-in:', s2.user.email);
console.log('browser check passed');
await browser.close();
