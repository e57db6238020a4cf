// Whether an exit-intent campaign can apply to this visitor, decided on the page before anything is fetched: the
// page's gate (data-popup-gate, built by the app from its active campaigns) names each campaign's schedule, whether
// it needs a cart, whether it shows on phones, its cap and the segments a page can tell by itself. Only when one
// campaign survives does the loader fetch the popup chunk (which then asks GET /popup, where the server decides).
const SHOWN = "_pz_pop"; // sessionStorage: a popup was shown in this session (popup.js sets it)
const CAP = "_pz_pop_cap"; // localStorage: {campaign id: ms until which it stays quiet} (popup.js sets it)
const NO = "_pz_pop_no"; // sessionStorage: "<gate>|<cart>" the server last answered "no popup" for
const RETURNING = "_pz_r"; // localStorage: this browser had a visitor id in an earlier session
const NO_TTL = 6e5; // a "no" from the server is trusted for 10 minutes of this session

function get(kind, name) {
  try {
    return window[kind].getItem(name);
  } catch (e) {
    return null;
  }
}

// Call before this page creates a visitor id. What the page knows of the visitor's segment: "returning" for sure
// after an earlier session (a stored id in a fresh session, remembered); "new" for sure on a first page view (no id
// yet) of someone not signed in. Neither: the server decides.
export function visitorState(cfg) {
  const had = !!get("localStorage", "_pz_v");
  try {
    if (had && !get("sessionStorage", "_pz_s")) localStorage.setItem(RETURNING, "1");
  } catch (e) {
    /* storage blocked: the page cannot tell */
  }
  return { returning: !!get("localStorage", RETURNING), fresh: !had && !cfg.customer };
}

function readGate(d, g) {
  const raw = g.popupGate ?? d.popupGate;
  if (raw == null || raw === "" || raw === "null") return null;
  try {
    const gate = typeof raw === "string" ? JSON.parse(raw) : raw;
    return Array.isArray(gate) ? gate : null;
  } catch (e) {
    return null;
  }
}

function gateKey(gate, cart) {
  return gate.map((c) => c.id).join(",") + "|" + cart;
}

// The server said "no popup" for this page's gate and cart: later pages of the session skip the chunk and the call
// until the gate, the cart or ten minutes change that.
export function popupDeclined(cart) {
  const s = document.querySelector("script[data-personalize]");
  const gate = readGate((s && s.dataset) || {}, window.PersonalizeConfig || {});
  try {
    if (gate) sessionStorage.setItem(NO, gateKey(gate, cart) + "@" + Date.now());
  } catch (e) {
    /* no memo: the next page asks again */
  }
}

// true: load the popup after idle; false: nothing can show here, load nothing.
export function popupMayApply(seen) {
  const s = document.querySelector("script[data-personalize]");
  const d = (s && s.dataset) || {};
  const g = window.PersonalizeConfig || {};
  if (!(g.popups || d.popups === "1")) return false;
  const gate = readGate(d, g);
  if (!gate) return true; // an older page without a gate: the server decides, as before
  if (get("sessionStorage", SHOWN)) return false; // never twice a session
  const cart = String(g.cart ?? d.cart ?? "");
  const no = String(get("sessionStorage", NO) || "").split("@");
  if (no[0] === gateKey(gate, cart) && Date.now() - Number(no[1]) < NO_TTL) return false;
  let caps = {};
  try {
    caps = JSON.parse(get("localStorage", CAP)) || {};
  } catch (e) {
    /* unreadable: no cap known here */
  }
  const now = Date.now();
  const phone = matchMedia("(pointer:coarse)").matches || navigator.maxTouchPoints > 0;
  const { returning, fresh } = seen;
  const known = (k) => (k === "visitors:returning" ? returning : k === "visitors:new" ? fresh : false);
  return gate.some(
    (c) =>
      !(c.from && now < c.from * 1000) &&
      !(c.until && now >= c.until * 1000) &&
      !(c.cart && cart !== "1") &&
      !(c.desktop && phone) &&
      !(caps[c.id] > now) &&
      !(c.only && (returning || fresh) && !c.only.some(known)) &&
      !(c.not && c.not.some(known)),
  );
}
