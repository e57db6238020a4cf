// Exit-intent popup. The server decides who gets which offer (GET /popup) but hands out no code there: this chunk
// watches for the shopper leaving, claims the code (POST /popup/claim) only when it actually shows the popup, or
// after the email was given with consent when the campaign asks for one, then shows an accessible dialog in a fixed
// overlay (nothing on the page moves). "Get my code" copies the code and applies it to the cart.
// Desktop: the pointer leaves through the top edge while moving up. Mobile: a fast scroll up, or coming back
// to the tab. Never in the first second, never before the campaign's minimum time, never twice a session.
// A hold-out visitor (an experiment's arm that shows nothing) gets the same watch; when it fires, the page reports
// "would have shown now" (POST /popup/exposure) and shows nothing: the only moment that arm counts as exposed.
// Nothing is imported from core/: what the loader already has comes through ctx, so the loader stays one request
// (a shared chunk would be a second one before any widget).
let identity = () => ({});

const SHOWN = "_pz_pop"; // sessionStorage: a popup was shown in this session
const CAP = "_pz_pop_cap"; // localStorage: {campaign id: ms until which it stays quiet}
const CSS = `.pz-pop{position:fixed;inset:0;z-index:2147483000;display:flex;align-items:center;justify-content:center;background:var(--pz-popup-overlay,rgba(0,0,0,.45));font:var(--pz-popup-font,16px/1.45 system-ui,sans-serif)}
.pz-pop-d{position:relative;box-sizing:border-box;width:min(26rem,calc(100vw - 2rem));max-height:calc(100vh - 2rem);overflow:auto;padding:1.5rem;border-radius:var(--pz-popup-radius,12px);background:var(--pz-popup-bg,#fff);color:var(--pz-popup-fg,#1a1a1a);box-shadow:0 10px 40px rgba(0,0,0,.3)}
.pz-pop-d h2{margin:0 2rem .5rem 0;font-size:1.35em}.pz-pop-d p{margin:.5rem 0}
.pz-pop-code{font:600 1.2em ui-monospace,monospace;letter-spacing:.05em;padding:.4rem .6rem;border:2px dashed var(--pz-popup-accent,#111);display:inline-block}
.pz-pop-x{position:absolute;top:.5rem;right:.5rem;width:2.5rem;height:2.5rem;border:0;background:none;color:inherit;font-size:1.5rem;cursor:pointer}
.pz-pop-cta{display:block;width:100%;margin-top:1rem;padding:.75rem;border:0;border-radius:calc(var(--pz-popup-radius,12px)/2);background:var(--pz-popup-accent,#111);color:var(--pz-popup-accent-fg,#fff);font:inherit;font-weight:600;cursor:pointer}
.pz-pop-d input[type=email]{width:100%;box-sizing:border-box;padding:.6rem;font:inherit;margin:.5rem 0}
.pz-pop-agree{display:flex;gap:.5rem;font-size:.85em;align-items:flex-start}.pz-pop-lbl{display:block;font-weight:600;margin-top:.5rem}
.pz-pop-msg{min-height:1.2em;margin:.5rem 0 0;font-size:.9em}.pz-pop-bad{color:var(--pz-popup-error,#b00020)}
.pz-pop :focus-visible{outline:3px solid var(--pz-popup-focus,#005fcc);outline-offset:2px}`;

function store(kind) {
  try {
    return window[kind];
  } catch (e) {
    return null;
  }
}

function readCap() {
  try {
    return JSON.parse(store("localStorage").getItem(CAP)) || {};
  } catch (e) {
    return {};
  }
}

function remember(data) {
  try {
    store("sessionStorage").setItem(SHOWN, "1");
    if (data.cap.scope === "days") {
      const cap = readCap();
      cap[data.campaign.id] = Date.now() + data.cap.days * 864e5;
      store("localStorage").setItem(CAP, JSON.stringify(cap));
    }
  } catch (e) {
    /* storage blocked: the server-side cap still holds for shoppers we may remember */
  }
}

function el(tag, attrs, text) {
  const node = document.createElement(tag);
  for (const k in attrs || {}) node.setAttribute(k, attrs[k]);
  if (text) node.textContent = text; // shop text is never parsed as HTML
  return node;
}

const STRINGS = {
  en: {
    close: "Close", email: "Email", code: "Your code", copied: "Copied", copy: "Copy code",
    bad_email: "Enter a valid email address.", agree: "Tick the box to agree first.",
    failed: "Sorry, your code could not be issued. Please try again later.",
  },
  es: {
    close: "Cerrar", email: "Correo electrónico", code: "Tu código", copied: "Copiado", copy: "Copiar código",
    bad_email: "Introduce un correo electrónico válido.", agree: "Marca la casilla para aceptar.",
    failed: "Lo sentimos, no hemos podido darte el código. Inténtalo más tarde.",
  },
};

function post(cfg, path, payload) {
  // text/plain: no CORS preflight; the answer is read, so no keepalive (the shopper is still on the page).
  return fetch(cfg.api + path, { method: "POST", body: JSON.stringify(payload), credentials: "omit" })
    .then((r) => r.json().catch(() => ({})).then((body) => (r.ok ? body : Promise.reject(body))));
}

// The shopper's code. Called once per page (watch() fires once); the server answers the same code to the same
// visitor anyway, so a claim can never hand one visitor two codes.
function claim(ctx, data, consent) {
  const { cfg } = ctx;
  const id = identity();
  const payload = { key: cfg.key, campaign: data.campaign.id, visitor: id.visitor, locale: data.locale };
  if (id.customer) Object.assign(payload, { customer: id.customer, customer_sig: id.customer_sig });
  if (consent) payload.consent = consent;
  return post(cfg, "/popup/claim", payload).then((got) => (got.offer && got.offer.code ? got.offer : Promise.reject(got)));
}

// Puts the code on the shopper's cart: Shopify's /discount/<code> path sets it for checkout; WooCommerce's Store
// API applies it with the store's nonce, which the plugin prints on our script tag.
function applyToCart(data, code) {
  try {
    if (data.platform === "woocommerce") {
      const s = document.querySelector("script[data-personalize]");
      const d = (s && s.dataset) || {};
      const base = (d.storeApi || "/wp-json/wc/store/v1/").replace(/\/*$/, "/");
      if (!d.storeNonce) return;
      fetch(base + "cart/apply-coupon", {
        method: "POST", credentials: "same-origin", body: JSON.stringify({ code }),
        headers: { "Content-Type": "application/json", Nonce: d.storeNonce },
      }).then((r) => r.ok && window.jQuery && window.jQuery(document.body).trigger("wc_fragment_refresh")).catch(() => {});
    } else if (data.platform === "shopify") {
      fetch("/discount/" + encodeURIComponent(code), { credentials: "same-origin", redirect: "manual" }).catch(() => {});
    }
  } catch (e) {
    /* the code is on screen and copied: the shopper can still type it at checkout */
  }
}

function copyText(text) {
  try {
    return navigator.clipboard.writeText(text).then(() => true, () => false);
  } catch (e) {
    return Promise.resolve(false);
  }
}

function show(ctx, data, offer) {
  const { cfg, track } = ctx;
  const words = STRINGS[data.locale] || STRINGS[cfg.locale] || STRINGS.en;
  const copy = data.copy;
  const ev = { widget: data.campaign.widget };
  if (data.experiment) Object.assign(ev, { experiment: data.experiment.id, variant: data.experiment.arm });
  const before = document.activeElement;
  if (!document.getElementById("pz-pop-css")) document.head.appendChild(el("style", { id: "pz-pop-css" }, CSS));
  const overlay = el("div", { class: "pz-pop", "data-pz-popup": data.campaign.id });
  const dialog = el("div", {
    class: "pz-pop-d", role: "dialog", "aria-modal": "true", "aria-labelledby": "pz-pop-h",
    "aria-describedby": "pz-pop-b", tabindex: "-1",
  });
  const close = el("button", { type: "button", class: "pz-pop-x", "aria-label": words.close }, "×");
  dialog.append(close, el("h2", { id: "pz-pop-h" }, copy.headline), el("p", { id: "pz-pop-b" }, copy.body));
  const codeLine = el("p");
  dialog.append(codeLine);
  const form = el("form", { novalidate: "" });
  let email, agree, fields;
  if (data.email_capture && !offer) {
    email = el("input", { type: "email", id: "pz-pop-email", name: "email", required: "", autocomplete: "email" });
    agree = el("input", { type: "checkbox", name: "consent", required: "" });
    const consent = el("label", { class: "pz-pop-agree" });
    consent.append(agree, el("span", {}, copy.consent));
    fields = el("div");
    fields.append(el("label", { for: "pz-pop-email", class: "pz-pop-lbl" }, words.email), email, consent);
    form.append(fields);
  }
  const cta = el("button", { type: "submit", class: "pz-pop-cta" }, copy.cta);
  const msg = el("p", { class: "pz-pop-msg", role: "status", "aria-live": "polite" });
  form.append(cta, msg);
  dialog.append(form);
  overlay.append(dialog);

  let code = "";
  let converted = false;
  const reveal = (got) => {
    code = got.code;
    codeLine.replaceChildren(el("span", { class: "pz-pop-code", "aria-label": words.code }, code));
  };
  const say = (text, bad) => {
    msg.textContent = text;
    msg.classList.toggle("pz-pop-bad", !!bad);
  };
  const use = () => {
    if (!converted) {
      converted = true;
      track("popup_converted", ev, true); // a click: orders paid with the code are counted by the server
      applyToCart(data, code);
    }
    return copyText(code).then((ok) => {
      if (ok) {
        cta.textContent = words.copied;
        say(words.copied + ": " + code);
      } else {
        cta.textContent = words.copy;
        const range = document.createRange(); // no clipboard: select the code so the shopper can copy it
        range.selectNodeContents(codeLine);
        const sel = getSelection();
        sel.removeAllRanges();
        sel.addRange(range);
      }
    });
  };
  if (offer) reveal(offer);

  let open = true;
  const done = (type) => {
    if (!open) return;
    open = false;
    overlay.remove();
    document.removeEventListener("keydown", onKey, true);
    track(type, ev, true);
    if (before && before.focus) before.focus();
  };
  const focusables = () => [...dialog.querySelectorAll("button,input,[href]")].filter((n) => !n.disabled);
  const onKey = (e) => {
    if (e.key === "Escape") {
      e.preventDefault();
      done("popup_closed");
    } else if (e.key === "Tab") {
      const f = focusables();
      const first = f[0];
      const last = f[f.length - 1];
      if (!dialog.contains(document.activeElement)) {
        e.preventDefault();
        first.focus();
      } else if (e.shiftKey && document.activeElement === first) {
        e.preventDefault();
        last.focus();
      } else if (!e.shiftKey && document.activeElement === last) {
        e.preventDefault();
        first.focus();
      }
    }
  };
  close.addEventListener("click", () => done("popup_closed"));
  overlay.addEventListener("click", (e) => e.target === overlay && done("popup_closed"));
  let busy = false;
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    if (code) {
      use();
      return;
    }
    if (busy || !email) return;
    const address = email.value.trim();
    if (!address || !email.checkValidity()) {
      say(words.bad_email, true);
      email.setAttribute("aria-invalid", "true");
      email.focus();
      return;
    }
    email.removeAttribute("aria-invalid");
    if (!agree.checked) {
      say(words.agree, true);
      agree.focus();
      return;
    }
    busy = true;
    say("");
    const id = identity();
    post(cfg, "/popup/consent", {
      key: cfg.key, campaign: data.campaign.id, email: address, consent: true, text: copy.consent,
      locale: data.locale, visitor: id.visitor,
    })
      .then((given) => claim(ctx, data, given.consent), (bad) => {
        if (bad && /email/.test(String(bad.error))) say(words.bad_email, true);
        return Promise.reject(bad);
      })
      .then((got) => {
        fields.remove();
        reveal(got);
        return use().then(() => cta.focus());
      })
      .catch(() => msg.textContent || say(words.failed, true))
      .finally(() => (busy = false));
  });
  document.addEventListener("keydown", onKey, true);
  document.body.appendChild(overlay);
  remember(data);
  track("popup_shown", ev, true);
  (email || cta).focus();
}

// The hold-out's counterpart of show(): remembered as shown (the same cap, so later pages behave as after a popup),
// reported with the token the popup answer signed. keepalive: the shopper may be leaving right now.
function wouldShow(ctx, held) {
  const { cfg } = ctx;
  const visitor = identity().visitor;
  remember(held);
  if (!visitor) return;
  const body = JSON.stringify({
    key: cfg.key, campaign: held.campaign.id, experiment: held.experiment.id, arm: held.experiment.arm, visitor,
    token: held.token,
  });
  fetch(cfg.api + "/popup/exposure", { method: "POST", body, keepalive: true, credentials: "omit" }).catch(() => {});
}

function watch(data, act) {
  const wait = Math.max(1000, data.trigger.min_seconds * 1000);
  const ready = () => performance.now() >= wait;
  let fired = false;
  const fire = () => {
    if (fired || !ready() || store("sessionStorage")?.getItem(SHOWN)) return;
    fired = true;
    act();
  };
  // Desktop: leaving through the top edge while moving up (toward the tabs or the address bar).
  let lastY = -1;
  addEventListener("mousemove", (e) => (lastY = e.clientY), { passive: true });
  document.addEventListener("mouseout", (e) => {
    if (!e.relatedTarget && e.clientY <= 0 && lastY > e.clientY) fire();
  });
  const touch = matchMedia("(pointer:coarse)").matches || navigator.maxTouchPoints > 0;
  if (!touch || !data.trigger.mobile) return;
  // Mobile: 120 px up within 300 ms after having scrolled into the page, or back from another tab.
  let prev = { y: scrollY, t: performance.now() };
  let run = null;
  let deepest = 0;
  addEventListener("scroll", () => {
    const y = scrollY;
    const t = performance.now();
    deepest = Math.max(deepest, y);
    if (y < prev.y) {
      if (!run || t - run.t > 300) run = { y: prev.y, t: Math.max(prev.t, t - 50) };
      if (run.y - y > 120 && deepest > 300) fire();
    } else run = null;
    prev = { y, t };
  }, { passive: true });
  let left = false;
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "hidden") left = true;
    else if (left) fire();
  });
}

export default function popup(ctx) {
  const { cfg } = ctx;
  identity = ctx.identity;
  const session = store("sessionStorage");
  if (!cfg.api || (session && session.getItem(SHOWN))) return; // behind the app proxy the key may be absent
  const id = identity();
  const s = document.querySelector("script[data-personalize]");
  const cart = String((window.PersonalizeConfig || {}).cart ?? (s && s.dataset.cart) ?? "");
  const q = new URLSearchParams({ locale: cfg.locale });
  for (const [k, v] of [["key", cfg.key], ["visitor", id.visitor], ["session", id.session], ["customer", id.customer], ["customer_sig", id.customer_sig], ["cart", cart]]) if (v) q.set(k, v);
  return fetch(cfg.api + "/popup?" + q, { credentials: "omit" })
    .then((r) => (r.ok ? r.json() : null))
    .then((data) => {
      const held = data && data.holdout;
      if (!data || (!data.campaign && !held)) ctx.popupDeclined(cart);
      if (held && held.token && held.trigger && !(readCap()[held.campaign.id] > Date.now()))
        watch(held, () => wouldShow(ctx, held));
      if (!data || !data.campaign || readCap()[data.campaign.id] > Date.now()) return;
      // Without an email step the code is claimed now, as the popup opens; a refused claim shows nothing.
      watch(data, () => (data.email_capture ? show(ctx, data, null)
        : claim(ctx, data).then((offer) => show(ctx, data, offer), () => {})));
    })
    .catch(() => {});
}
