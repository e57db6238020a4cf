// Exit-intent popup. The server decides who gets which offer (GET /popup); this chunk only watches for the
// shopper leaving, then shows an accessible dialog in a fixed overlay (nothing on the page moves).
// Desktop: the pointer leaves through the top edge while moving up. Mobile: a fast scroll up, or coming back
// to the tab. Never in the first second, never before the campaign's minimum time, never twice a session.
import { identity } from "../core/transport.js";

const SHOWN = "_pz_pop"; // sessionStorage: a popup was shown in this session
const CAP = "_pz_pop_cap"; // localStorage: {campaign id: ms until which it stays quiet}
const CSS = `.pz-pop{position:fixed;inset:0;z-index:2147483000;display:flex;align-items:center;justify-content:center;background:var(--pz-popup-overlay,rgba(0,0,0,.45));font:var(--pz-popup-font,16px/1.45 system-ui,sans-serif)}
.pz-pop-d{position:relative;box-sizing:border-box;width:min(26rem,calc(100vw - 2rem));max-height:calc(100vh - 2rem);overflow:auto;padding:1.5rem;border-radius:var(--pz-popup-radius,12px);background:var(--pz-popup-bg,#fff);color:var(--pz-popup-fg,#1a1a1a);box-shadow:0 10px 40px rgba(0,0,0,.3)}
.pz-pop-d h2{margin:0 2rem .5rem 0;font-size:1.35em}.pz-pop-d p{margin:.5rem 0}
.pz-pop-code{font:600 1.2em ui-monospace,monospace;letter-spacing:.05em;padding:.4rem .6rem;border:2px dashed var(--pz-popup-accent,#111);display:inline-block}
.pz-pop-x{position:absolute;top:.5rem;right:.5rem;width:2.5rem;height:2.5rem;border:0;background:none;color:inherit;font-size:1.5rem;cursor:pointer}
.pz-pop-cta{display:block;width:100%;margin-top:1rem;padding:.75rem;border:0;border-radius:calc(var(--pz-popup-radius,12px)/2);background:var(--pz-popup-accent,#111);color:var(--pz-popup-accent-fg,#fff);font:inherit;font-weight:600;cursor:pointer}
.pz-pop-d input[type=email]{width:100%;box-sizing:border-box;padding:.6rem;font:inherit;margin:.5rem 0}
.pz-pop-d label{display:flex;gap:.5rem;font-size:.85em;align-items:flex-start}
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

function show(ctx, data) {
  const { cfg, track } = ctx;
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
  const close = el("button", { type: "button", class: "pz-pop-x", "aria-label": cfg.locale === "es" ? "Cerrar" : "Close" }, "×");
  dialog.append(close, el("h2", { id: "pz-pop-h" }, copy.headline), el("p", { id: "pz-pop-b" }, copy.body));
  if (data.offer.code) {
    const line = el("p");
    line.append(el("span", { class: "pz-pop-code" }, data.offer.code));
    dialog.append(line);
  }
  const form = el("form", { novalidate: "" });
  let email, agree;
  if (data.email_capture) {
    email = el("input", { type: "email", name: "email", required: "", autocomplete: "email", "aria-label": "Email" });
    agree = el("input", { type: "checkbox", name: "consent", required: "" });
    const label = el("label");
    label.append(agree, el("span", {}, copy.consent));
    form.append(email, label);
  }
  form.append(el("button", { type: "submit", class: "pz-pop-cta" }, copy.cta));
  dialog.append(form);
  overlay.append(dialog);

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
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    if (email && !(email.checkValidity() && agree.checked)) {
      (email.checkValidity() ? agree : email).focus();
      return;
    }
    if (email) {
      const id = identity();
      const body = JSON.stringify({
        key: cfg.key, campaign: data.campaign.id, email: email.value, consent: true, text: copy.consent,
        locale: data.locale, visitor: id.visitor,
      });
      fetch(cfg.api + "/popup/consent", { method: "POST", body, credentials: "omit", keepalive: true }).catch(() => {});
    }
    try {
      if (data.offer.code) navigator.clipboard.writeText(data.offer.code).catch(() => {});
    } catch (err) {
      /* no clipboard: the code stays on screen until closed */
    }
    done("popup_converted");
  });
  document.addEventListener("keydown", onKey, true);
  document.body.appendChild(overlay);
  remember(data);
  track("popup_shown", ev, true);
  (email || dialog.querySelector(".pz-pop-cta")).focus();
}

function watch(ctx, data) {
  const wait = Math.max(1000, data.trigger.min_seconds * 1000);
  const ready = () => performance.now() >= wait;
  let fired = false;
  const fire = () => {
    if (fired || !ready() || store("sessionStorage")?.getItem(SHOWN)) return;
    fired = true;
    show(ctx, data);
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
      if (!data || !data.campaign || readCap()[data.campaign.id] > Date.now()) return;
      watch(ctx, data);
    })
    .catch(() => {});
}
