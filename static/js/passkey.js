// Passkey ceremonies for the Portcullis screens: the only script they use.
// The server keeps the challenge; this file only turns its JSON options into
// WebAuthn calls and the authenticator's answer back into JSON.
"use strict";
(function () {
  const API = "/.auth/api/v1/auth";

  const toBytes = (b64url) => {
    const b64 = b64url.replace(/-/g, "+").replace(/_/g, "/");
    const bin = atob(b64 + "=".repeat((4 - (b64.length % 4)) % 4));
    return Uint8Array.from(bin, (c) => c.charCodeAt(0));
  };
  const toB64url = (buf) => {
    const bytes = new Uint8Array(buf);
    let bin = "";
    bytes.forEach((b) => { bin += String.fromCharCode(b); });
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  };

  async function post(path, body) {
    const res = await fetch(API + path, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body || {}),
    });
    const json = await res.json().catch(() => null);
    if (!res.ok) throw new Error((json && json.message) || "Something went wrong.");
    return json;
  }

  function creationOptions(o) {
    const pk = o.publicKey;
    pk.challenge = toBytes(pk.challenge);
    pk.user.id = toBytes(pk.user.id);
    (pk.excludeCredentials || []).forEach((c) => { c.id = toBytes(c.id); });
    return pk;
  }

  function requestOptions(o) {
    const pk = o.publicKey;
    pk.challenge = toBytes(pk.challenge);
    (pk.allowCredentials || []).forEach((c) => { c.id = toBytes(c.id); });
    return pk;
  }

  function credentialJson(cred) {
    const r = cred.response;
    const response = { clientDataJSON: toB64url(r.clientDataJSON) };
    if (r.attestationObject) {
      response.attestationObject = toB64url(r.attestationObject);
      if (r.getTransports) response.transports = r.getTransports();
    } else {
      response.authenticatorData = toB64url(r.authenticatorData);
      response.signature = toB64url(r.signature);
      response.userHandle = r.userHandle ? toB64url(r.userHandle) : null;
    }
    return {
      id: cred.id,
      rawId: toB64url(cred.rawId),
      type: cred.type,
      response,
      extensions: cred.getClientExtensionResults ? cred.getClientExtensionResults() : {},
    };
  }

  function say(el, text) {
    if (el) { el.textContent = text; el.hidden = !text; }
  }

  function returnTo() {
    const field = document.querySelector('input[name="return_to"]');
    const to = field && field.value;
    return to && to.startsWith("/") && !to.startsWith("//") ? to : "/";
  }

  async function finishSignIn(ceremony, cred) {
    await post("/passkey/authenticate", { ceremony, credential: credentialJson(cred) });
    window.location.assign(returnTo());
  }

  // Sign-in screen: a button, and autofill (conditional mediation) when the
  // browser offers it.
  const loginButton = document.querySelector("[data-passkey-login]");
  if (loginButton && window.PublicKeyCredential) {
    const status = document.querySelector("[data-passkey-status]");
    let autofill = null;
    let autofillDone = Promise.resolve();
    loginButton.hidden = false;

    loginButton.addEventListener("click", async () => {
      say(status, "");
      // Only one WebAuthn request may be pending: end the autofill one first.
      if (autofill) {
        autofill.abort();
        await autofillDone;
        autofill = null;
      }
      try {
        const emailField = document.querySelector('input[name="email"]');
        const email = emailField && emailField.value ? emailField.value : undefined;
        const o = await post("/passkey/authenticate/options", { email });
        const cred = await navigator.credentials.get({ publicKey: requestOptions(o) });
        await finishSignIn(o.ceremony, cred);
      } catch (e) {
        say(status, e.name === "NotAllowedError" ? "The passkey request was cancelled." : e.message);
      }
    });

    if (PublicKeyCredential.isConditionalMediationAvailable) {
      PublicKeyCredential.isConditionalMediationAvailable().then((ok) => {
        if (!ok) return;
        const controller = new AbortController();
        autofill = controller;
        autofillDone = (async () => {
          try {
            const o = await post("/passkey/authenticate/options", {});
            const cred = await navigator.credentials.get({
              publicKey: requestOptions(o),
              mediation: "conditional",
              signal: controller.signal,
            });
            await finishSignIn(o.ceremony, cred);
          } catch (e) {
            if (!controller.signal.aborted && e.name !== "AbortError" && e.name !== "NotAllowedError") {
              say(status, e.message);
            }
          }
        })();
      });
    }
  }

  // Account screen: add a passkey to the signed-in account.
  const addButton = document.querySelector("[data-passkey-register]");
  if (addButton && window.PublicKeyCredential) {
    const status = document.querySelector("[data-passkey-status]");
    addButton.hidden = false;
    addButton.addEventListener("click", async () => {
      say(status, "");
      try {
        const o = await post("/passkey/register/options", {});
        const cred = await navigator.credentials.create({ publicKey: creationOptions(o) });
        await post("/passkey/register", {
          ceremony: o.ceremony,
          credential: credentialJson(cred),
          name: navigator.platform ? "Passkey on " + navigator.platform : "Passkey",
        });
        window.location.reload();
      } catch (e) {
        say(status, e.name === "NotAllowedError" ? "The passkey request was cancelled." : e.message);
      }
    });
  }
})();
