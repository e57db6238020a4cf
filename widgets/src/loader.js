// The storefront script: reads the app embed's config, records page events, and loads a widget's chunk only
// when its placeholder nears the viewport. It must never break or shift the host page.
import { fetchWidget } from "./core/api.js";
import { readConfig } from "./core/config.js";
import { consentReady } from "./core/consent.js";
import { t } from "./core/i18n.js";
import { popupDeclined, popupMayApply, visitorState } from "./core/popup_gate.js";
import { identity, startTransport, track } from "./core/transport.js";

const WIDGETS = {
  also_bought: () => import("./widgets/also_bought.js"),
  recently_viewed: () => import("./widgets/recently_viewed.js"),
  bestsellers: () => import("./widgets/bestsellers.js"),
  for_you: () => import("./widgets/for_you.js"),
};

// Without data (an error, or a widget the merchant switched off on this page type) the box empties, and collapses
// only when that moves nothing the shopper sees: at once when it lies wholly below the viewport with enough page
// left below that the browser need not pull the scroll position back; else, kept empty while on screen, the first
// time it is wholly off screen: below (the same rule), or above, with the scroll position moved by what the page
// lost above the viewport (browsers with scroll anchoring have already done it: the move is then 0).
function hide(host) {
  host.dataset.pzState = "empty";
  host.replaceChildren();
  if (collapseBelow(host) || !("IntersectionObserver" in window)) return;
  const io = new IntersectionObserver((entries) => {
    if (entries.some((e) => e.isIntersecting)) return;
    if (collapseBelow(host) || collapseAbove(host)) io.disconnect();
  });
  io.observe(host);
}

function collapseBelow(host) {
  const box = host.getBoundingClientRect();
  const left = document.documentElement.scrollHeight - scrollY - innerHeight;
  if (box.top < innerHeight || left <= 2 * box.height + 200) return false;
  host.style.display = "none";
  return true;
}

// Where the content after the box lies, measured so that the box's going moves it by exactly what the page lost:
// the first element after the box in the page's flow (fractional pixels), else the distance to the page's end.
// Never the element in the middle of the screen: it may be a sticky or fixed bar, which does not move.
function flowAfter(host) {
  for (let el = host; el && el !== document.body; el = el.parentElement)
    for (let next = el.nextElementSibling; next; next = next.nextElementSibling)
      if (next.getClientRects().length && !/fixed|sticky|absolute/.test(getComputedStyle(next).position))
        return () => next.getBoundingClientRect().top;
  return () => (document.scrollingElement || document.documentElement).scrollHeight - scrollY;
}

function collapseAbove(host) {
  if (host.getBoundingClientRect().bottom > 0) return false;
  const at = flowAfter(host);
  const before = at();
  host.style.display = "none";
  // Browsers without scroll anchoring (or pages that turn it off) leave what is in view to move up by the removed
  // height: scroll back by as much. With anchoring the browser has already scrolled and the move is 0.
  const moved = at() - before;
  if (moved) scrollBy({ top: moved, left: 0, behavior: "instant" });
  return true;
}

function onSubmit(cfg, e) {
  const form = e.target;
  if (!(form instanceof HTMLFormElement) || !/\/cart\/add/.test(form.getAttribute("action") || "")) return;
  const field = form.querySelector("[name='product-id'],[name='product_id']");
  const product = form.dataset.productId || (field && field.value) || cfg.product;
  track("added_to_cart", { product }, true);
}

function start() {
  if (window.__personalize) return;
  window.__personalize = true;
  const cfg = readConfig();
  const seen = visitorState(cfg); // before anything on this page stores a visitor id
  startTransport(cfg);
  if (cfg.product) track("product_viewed", { product: cfg.product, collection: cfg.collection });
  else if (cfg.collection) track("collection_viewed", { collection: cfg.collection });
  document.addEventListener("submit", (e) => onSubmit(cfg, e), true);
  // WooCommerce: the plugin leaves a marker after a classic add and fires a DOM event for AJAX/block adds.
  for (const m of document.querySelectorAll("[data-personalize-event='added_to_cart']"))
    track("added_to_cart", { product: m.dataset.product }, true);
  document.addEventListener("personalize:added_to_cart", (e) =>
    track("added_to_cart", { product: String((e.detail || {}).product || "") }, true),
  );

  const ctx = { cfg, t, track, fetchWidget, hide, ready: consentReady(), identity, popupDeclined };
  const load = (host) => {
    const chunk = WIDGETS[host.dataset.personalizeWidget];
    if (!chunk) return;
    host.dataset.pzState = "loading";
    ctx.ready
      .then(chunk)
      .then((m) => m.default(host, ctx))
      .catch(() => hide(host));
  };
  const io =
    "IntersectionObserver" in window &&
    new IntersectionObserver(
      (entries) => {
        for (const e of entries) {
          if (!e.isIntersecting) continue;
          io.unobserve(e.target);
          load(e.target);
        }
      },
      { rootMargin: "400px 0px" },
    );
  const scan = () => {
    for (const host of document.querySelectorAll("[data-personalize-widget]:not([data-pz-state])")) {
      host.dataset.pzState = "waiting";
      if (io) io.observe(host);
      else load(host);
    }
  };
  // Widgets sit below the fold: start them once the page has loaded (its images, the largest paint) and the browser
  // is idle, so none of our requests competes with the page's own; a page whose load drags on waits at most 4 s.
  afterLoad(scan);
  // The theme editor re-renders sections in place: pick up their new placeholders.
  document.addEventListener("shopify:section:load", scan);
  // Exit-intent popup (its own chunk, then GET /popup) only when the page's gate says a campaign can apply to this
  // visitor, and only once the page has loaded and the browser is idle: it never competes with the page's own work.
  if (popupMayApply(seen))
    afterLoad(() => ctx.ready.then(() => import("./widgets/popup.js")).then((m) => m.default(ctx)).catch(() => {}));
}

function afterLoad(fn) {
  let started = false;
  const go = () => {
    if (started) return;
    started = true;
    if (window.requestIdleCallback) requestIdleCallback(fn, { timeout: 1500 });
    else setTimeout(fn, 1);
  };
  if (document.readyState === "complete") go();
  else {
    addEventListener("load", go, { once: true });
    setTimeout(go, 4000);
  }
}

try {
  start();
} catch (e) {
  /* never let the storefront script break the host page */
}
