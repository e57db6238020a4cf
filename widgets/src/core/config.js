// Configuration comes from the app embed's script tag (data-* attributes) or a global it may set first.
const KEY_RE = /^[\w-]{1,64}$/;

export function readConfig() {
  const script = document.querySelector("script[data-personalize]");
  const d = (script && script.dataset) || {};
  const g = (typeof window.PersonalizeConfig === "object" && window.PersonalizeConfig) || {};
  const pick = (name) => String(g[name] ?? d[name] ?? "");
  let api = pick("api");
  if (!api && script && script.src) api = new URL("/api/storefront", script.src).href;
  const locale = pick("locale").toLowerCase().startsWith("es") ? "es" : "en";
  const currency = pick("currency").toUpperCase();
  return {
    api: api.replace(/\/+$/, ""),
    key: KEY_RE.test(pick("key")) ? pick("key") : "",
    shop: pick("shop"),
    locale,
    currency: /^[A-Z]{3}$/.test(currency) ? currency : "",
    customer: pick("customer").slice(0, 64),
    // The host's signature over the customer id (outside Shopify's app proxy the API trusts no bare id).
    customerSig: pick("customerSig").slice(0, 128),
    product: pick("product").slice(0, 64),
    collection: pick("collection").slice(0, 64),
    // "denied" lets a non-Shopify host (or a test) declare that analytics consent is missing.
    consent: pick("consent") !== "denied",
  };
}
