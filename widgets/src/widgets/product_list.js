// Renders a widget payload as a heading plus a list of product cards into its reserved placeholder.
// Shop data only ever reaches the page through textContent and checked URLs, never as HTML.
const CSS = `.pz-title{font-size:var(--personalize-title-size,1.25rem);font-weight:var(--personalize-title-weight,600);line-height:1.5;margin:0 0 .75rem;color:var(--personalize-color,inherit)}
.pz-list{display:flex;gap:var(--personalize-gap,1rem);list-style:none;margin:0;padding:0 0 .5rem;overflow-x:auto;scroll-snap-type:x proximity}
.pz-item{flex:0 0 var(--personalize-card-width,10rem);scroll-snap-align:start}
.pz-link{display:block;color:var(--personalize-color,inherit);text-decoration:none;border-radius:var(--personalize-radius,.5rem)}
.pz-link:focus-visible{outline:2px solid var(--personalize-accent,#2563eb);outline-offset:2px}
.pz-img{display:block;width:100%;height:auto;aspect-ratio:1;object-fit:cover;background:var(--personalize-image-bg,#f3f4f6);border-radius:var(--personalize-radius,.5rem)}
.pz-name{display:-webkit-box;-webkit-line-clamp:2;-webkit-box-orient:vertical;overflow:hidden;height:2.6em;line-height:1.3;margin:.5rem 0 .25rem}
.pz-price{font-weight:600;color:var(--personalize-price-color,inherit)}
.pz-was{margin-inline-start:.4em;font-weight:400;color:var(--personalize-muted,#6b7280)}
.pz-sold{display:block;font-size:.85em;color:var(--personalize-muted,#6b7280)}`;

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

function card(item, money, soldOut, wasLabel) {
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
    s.title = wasLabel;
    price.append(s);
  }
  a.append(price);
  if (item.available === false) a.append(el("span", "pz-sold", soldOut));
  li.append(a);
  return li;
}

export async function renderList(host, ctx, name, params) {
  const { cfg, t } = ctx;
  const data = await ctx.fetchWidget(cfg, name, { limit: host.dataset.limit, ...params });
  if (!data) return ctx.hide(host);
  injectStyle();
  const locale = data.locale === "es" || data.locale === "en" ? data.locale : cfg.locale;
  const currency = typeof data.currency === "string" && /^[A-Z]{3}$/.test(data.currency) ? data.currency : cfg.currency;
  const money = moneyFormatter(locale, currency || "USD");
  const level = Math.min(6, Math.max(2, parseInt(host.dataset.headingLevel, 10) || 2));
  const title = host.dataset.title || (typeof data.title === "string" && data.title) || t(locale, name);
  const heading = el("h" + level, "pz-title", title);
  const list = el("ul", "pz-list");
  list.setAttribute("role", "list");
  for (const item of data.items) list.append(card(item, money, t(locale, "sold_out"), t(locale, "was")));
  host.replaceChildren(heading, list);
  host.dataset.pzState = "ready";
  // An experiment's arm is echoed on impressions: exposure is logged only when the arm was really seen.
  const arm = data.experiment ? { experiment: data.experiment, variant: data.variant } : {};
  host.addEventListener("click", (e) => {
    const a = e.target.closest && e.target.closest("a[data-pz-product]");
    if (a) ctx.track("widget_click", { widget: name, product: a.dataset.pzProduct, ...arm }, true);
  });
  const io = new IntersectionObserver((entries) => {
    if (entries.some((x) => x.isIntersecting)) {
      io.disconnect();
      ctx.track("widget_impression", { widget: name, product: params.product, ...arm });
    }
  }, { threshold: 0.5 });
  io.observe(host);
}
