// Renders a widget payload as a heading and product cards with an add-to-cart button, into its reserved placeholder:
// a carousel with previous/next arrows or a one-row grid, in the merchant's card style (standard, compact, minimal). Shop data only reaches the page through textContent and checked URLs.
// Every row has a fixed height, so the content fills the reserved box exactly (personalize.css): no band of blank
// space, no shift; the last card is cut on purpose and faded, with arrows, so shoppers see there is more.
import { addToCart, canAdd } from "../core/cart.js";

const CSS = `.pz-box{display:flex;flex-direction:column;height:100%;font-size:1rem;line-height:1.5}
.pz-head{display:flex;align-items:center;gap:.5rem;height:2.25rem;margin:0 0 .75rem}
.pz-title{flex:1;min-width:0;white-space:nowrap;overflow:hidden;text-overflow:ellipsis;font-size:var(--personalize-title-size,1.25rem);font-weight:var(--personalize-title-weight,600);line-height:1.5;margin:0;color:var(--personalize-color,inherit)}
.pz-arrow{flex:none;width:2.25rem;height:2.25rem;padding:0;border:1px solid currentColor;border-radius:50%;background:transparent;color:var(--personalize-color,inherit);font:inherit;font-size:1.25rem;line-height:1;cursor:pointer}
.pz-arrow:disabled{opacity:.3;cursor:default}
.pz-list{flex:1;min-height:0;display:flex;gap:var(--personalize-gap,1rem);list-style:none;margin:0;padding:.25rem;scroll-padding:.25rem;overflow-x:auto;overflow-y:hidden;scroll-snap-type:x proximity;scrollbar-width:none}
.pz-list::-webkit-scrollbar{display:none}
.pz-list.pz-e{-webkit-mask-image:linear-gradient(90deg,#000 calc(100% - 3rem),transparent);mask-image:linear-gradient(90deg,#000 calc(100% - 3rem),transparent)}
.pz-list.pz-s{-webkit-mask-image:linear-gradient(90deg,transparent,#000 3rem);mask-image:linear-gradient(90deg,transparent,#000 3rem)}
.pz-list.pz-s.pz-e{-webkit-mask-image:linear-gradient(90deg,transparent,#000 3rem,#000 calc(100% - 3rem),transparent);mask-image:linear-gradient(90deg,transparent,#000 3rem,#000 calc(100% - 3rem),transparent)}
.pz-item{flex:0 0 var(--pz-w);width:var(--pz-w);min-width:0;display:flex;flex-direction:column;scroll-snap-align:start}
.pz-link{display:block;color:var(--personalize-color,inherit);text-decoration:none;border-radius:var(--personalize-radius,.5rem)}
.pz-link:focus-visible,.pz-add:focus-visible,.pz-arrow:focus-visible{outline:2px solid var(--personalize-accent,#2563eb);outline-offset:2px}
.pz-img{display:block;width:100%;height:auto;aspect-ratio:1;object-fit:cover;background:var(--personalize-image-bg,#f3f4f6);border-radius:var(--personalize-radius,.5rem)}
.pz-name{display:-webkit-box;-webkit-line-clamp:2;-webkit-box-orient:vertical;overflow:hidden;height:2.6em;line-height:1.3;margin:.5rem 0 .25rem;overflow-wrap:anywhere}
.pz-price{display:block;white-space:nowrap;overflow:hidden;text-overflow:ellipsis;font-weight:600;color:var(--personalize-price-color,inherit)}
.pz-was{margin-inline-start:.4em;font-weight:400;font-size:.875em;color:var(--personalize-muted,#6b7280)}
.pz-add{margin-top:auto;height:2.25rem;padding:0 .5rem;border:0;border-radius:var(--personalize-radius,.5rem);background:var(--personalize-accent,#111827);color:#fff;font:inherit;font-size:.875rem;cursor:pointer;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.pz-add:disabled{background:var(--personalize-muted,#6b7280);cursor:default}
.pz-off{visibility:hidden}
.pz-item[hidden],.pz-arrow[hidden]{display:none}
.pz-grid .pz-list{display:grid;grid-template-columns:repeat(auto-fill,minmax(var(--pz-w),1fr));grid-template-rows:1fr;grid-auto-rows:0;overflow:hidden}
.pz-grid .pz-item{width:auto}
.pz-box{--pz-w:var(--personalize-card-width,10rem)}
.pz-grid .pz-img,.pz-st-compact .pz-img{aspect-ratio:auto;height:var(--personalize-card-width,10rem)}
.pz-st-compact{--pz-w:calc(var(--personalize-card-width,10rem)*.8)}
.pz-st-compact .pz-item{flex-basis:var(--pz-w);width:var(--pz-w)}
.pz-st-compact .pz-name,.pz-st-compact .pz-price{font-size:.875rem}
.pz-st-minimal .pz-img{border-radius:0;background:transparent}
.pz-st-minimal .pz-price{font-weight:400}
.pz-st-minimal .pz-add{background:transparent;color:var(--personalize-color,inherit);box-shadow:inset 0 0 0 1px currentColor}
.pz-sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}`;

function injectStyle() {
  if (document.getElementById("pz-css")) return;
  const s = document.createElement("style");
  s.id = "pz-css";
  s.textContent = CSS;
  document.head.appendChild(s);
}

function safeUrl(raw) {
  if (typeof raw !== "string" || !raw) return "";
  try {
    const u = new URL(raw, location.href);
    return u.protocol === "https:" || u.protocol === "http:" ? u.href : "";
  } catch (e) {
    return "";
  }
}

function moneyFormatter(locale, currency) {
  let nf = null;
  try {
    nf = new Intl.NumberFormat(locale, { style: "currency", currency });
  } catch (e) {
    nf = null;
  }
  return (value, fallback) => {
    const n = typeof value === "number" ? value : parseFloat(value);
    if (nf && Number.isFinite(n)) return nf.format(n);
    return typeof fallback === "string" ? fallback : "";
  };
}

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text) e.textContent = text;
  return e;
}

function button(cls, text, label) {
  const b = el("button", cls, text);
  b.type = "button";
  b.setAttribute("aria-label", label);
  return b;
}

const ID_RE = /^[\w:./-]{1,64}$/;

function card(item, money, tr, platform) {
  const li = el("li", "pz-item");
  const a = el("a", "pz-link");
  a.href = safeUrl(item.url) || "#";
  a.dataset.pzProduct = String(item.id).slice(0, 64);
  const src = safeUrl(item.image);
  // Width/height and aspect-ratio reserve the image box before it loads; the title is the link text.
  const img = el(src ? "img" : "span", "pz-img");
  if (src) {
    img.src = src;
    img.alt = "";
    img.width = 300;
    img.height = 300;
    img.loading = "lazy";
    img.decoding = "async";
  }
  a.append(img, el("span", "pz-name", item.title));
  const price = el("span", "pz-price", money(item.price, item.price_formatted));
  const was = parseFloat(item.compare_at_price);
  if (Number.isFinite(was) && was > parseFloat(item.price)) {
    const s = el("s", "pz-was", money(item.compare_at_price, item.compare_at_price_formatted));
    s.title = tr("was");
    price.append(s);
  }
  a.append(price);
  const soldOut = item.available === false;
  const variant = String(item.variant || item.id);
  const add = button("pz-add", tr(soldOut ? "sold_out" : "add"), `${tr(soldOut ? "sold_out" : "add")}: ${item.title}`);
  add.disabled = soldOut;
  add.dataset.pzAdd = ID_RE.test(variant) ? variant : "";
  // No way to add on this platform: the button keeps its row (the layout is fixed) but is neither seen nor focusable.
  if (!add.dataset.pzAdd || !canAdd(platform)) {
    add.disabled = true;
    add.classList.add("pz-off");
  }
  li.append(a, add);
  return li;
}

// The list's own size, not the window's: one observer per list, which goes with the list when a render replaces
// it (a window listener per render would pile up and keep every old list alive).
function onResize(list, fn) {
  new ResizeObserver(() => fn()).observe(list);
}

// Arrows and the edge fade follow the scroll position; both sides at once in the middle of the list.
function carousel(list, prev, next) {
  const update = () => {
    const max = list.scrollWidth - list.clientWidth - 2;
    const x = Math.abs(list.scrollLeft);
    prev.disabled = x <= 2;
    next.disabled = x >= max;
    list.classList.toggle("pz-s", !prev.disabled);
    list.classList.toggle("pz-e", !next.disabled);
  };
  const step = (dir) => {
    const smooth = !matchMedia("(prefers-reduced-motion: reduce)").matches;
    const rtl = getComputedStyle(list).direction === "rtl" ? -1 : 1;
    list.scrollBy({ left: dir * rtl * Math.max(list.clientWidth * 0.8, 100), behavior: smooth ? "smooth" : "auto" });
  };
  prev.addEventListener("click", () => step(-1));
  next.addEventListener("click", () => step(1));
  list.addEventListener("scroll", update, { passive: true });
  onResize(list, update);
  update();
}

// A grid is one row that fills the width: the cards past the row are hidden (not only clipped), so neither the
// keyboard nor a screen reader meets a card nobody can see. The row's height is the carousel's: no shift.
function grid(list) {
  const fit = () => {
    const cols = getComputedStyle(list).gridTemplateColumns.split(" ").length || 1;
    [...list.children].forEach((li, i) => (li.hidden = i >= cols));
  };
  onResize(list, fit);
  fit();
}

// The page type the merchant's placement is checked against: the placeholder's data-page, else what the page shows.
function pageType(host, cfg) {
  const own = host.dataset.page;
  if (own) return /^(product|collection|cart|home)$/.test(own) ? own : "";
  if ("cart" in host.dataset || /\/cart\/?$/.test(location.pathname)) return "cart";
  if (cfg.product) return "product";
  if (cfg.collection) return "collection";
  const root = (window.Shopify && Shopify.routes && Shopify.routes.root) || "/";
  return location.pathname === root ? "home" : "";
}

const LAYOUTS = ["carousel", "grid"];
const STYLES = ["standard", "compact", "minimal"];
let lists = 0;

export async function renderList(host, ctx, name, params) {
  const { cfg, t } = ctx;
  const data = await ctx.fetchWidget(cfg, name, { limit: host.dataset.limit, page: pageType(host, cfg), ...params });
  if (!data) return ctx.hide(host);
  injectStyle();
  const locale = data.locale === "es" || data.locale === "en" ? data.locale : cfg.locale;
  const tr = (key) => t(locale, key);
  const currency = typeof data.currency === "string" && /^[A-Z]{3}$/.test(data.currency) ? data.currency : cfg.currency;
  const money = moneyFormatter(locale, currency || "USD");
  const level = Math.min(6, Math.max(2, parseInt(host.dataset.headingLevel, 10) || 2));
  const title = host.dataset.title || (typeof data.title === "string" && data.title) || tr(name);
  const heading = el("h" + level, "pz-title", title);
  const list = el("ul", "pz-list");
  list.id = `pz-list-${++lists}`;
  list.setAttribute("role", "list");
  list.setAttribute("aria-label", title);
  list.tabIndex = -1;
  const prev = button("pz-arrow", "\u2039", tr("prev"));
  const next = button("pz-arrow", "\u203a", tr("next"));
  for (const b of [prev, next]) b.setAttribute("aria-controls", list.id);
  for (const item of data.items) list.append(card(item, money, tr, data.platform));
  const status = el("p", "pz-sr");
  status.setAttribute("role", "status");
  const head = el("div", "pz-head");
  head.append(heading, prev, next);
  // The merchant's layout and card style (unknown values: the defaults), applied before the box is in the page.
  const layout = LAYOUTS.includes(data.layout) ? data.layout : "carousel";
  const style = STYLES.includes(data.style) ? data.style : "standard";
  const box = el("div", `pz-box pz-${layout} pz-st-${style}`);
  box.append(head, list, status);
  prev.hidden = next.hidden = layout === "grid";
  host.replaceChildren(box);
  host.dataset.pzState = "ready";
  if (layout === "grid") grid(list);
  else carousel(list, prev, next);
  // An experiment's arm is echoed on impressions: exposure is logged only when the arm was really seen.
  const arm = data.experiment ? { experiment: data.experiment, variant: data.variant } : {};
  // A property, not a listener: a render replaces the previous render's handler instead of adding one.
  host.onclick = (e) => {
    const add = e.target.closest && e.target.closest("button[data-pz-add]");
    if (add) return onAdd(add, data.platform, name, arm, ctx, tr, status);
    const a = e.target.closest && e.target.closest("a[data-pz-product]");
    if (a) ctx.track("widget_click", { widget: name, product: a.dataset.pzProduct, ...arm }, true);
  };
  const io = new IntersectionObserver((entries) => {
    if (entries.some((x) => x.isIntersecting)) {
      io.disconnect();
      ctx.track("widget_impression", { widget: name, product: params.product, ...arm });
    }
  }, { threshold: 0.5 });
  io.observe(host);
}

async function onAdd(btn, platform, widget, arm, ctx, tr, status) {
  if (btn.disabled) return;
  const li = btn.closest("li");
  const product = li.querySelector("a[data-pz-product]").dataset.pzProduct;
  const title = li.querySelector(".pz-name").textContent;
  const label = btn.textContent;
  btn.disabled = true;
  const ok = await addToCart(platform, btn.dataset.pzAdd, widget);
  if (ok) ctx.track("added_to_cart", { product, widget, ...arm }, true);
  btn.textContent = tr(ok ? "added" : "add_failed");
  status.textContent = `${tr(ok ? "added" : "add_failed")}: ${title}`;
  setTimeout(() => {
    btn.textContent = label;
    btn.disabled = false;
  }, 2000);
}
