// Adds one unit to the shopper's cart on the store's own origin, the way each platform documents it:
// Shopify's AJAX cart (`/cart/add.js`, the widget in a hidden `_` line-item property that checkout never shows) and
// WooCommerce's Store API (`cart/add-item`, with the store's nonce the plugin prints on our script tag). On
// WooCommerce the plugin records every add server-side too; `X-Personalize-Widget` tells it this add is ours and
// already recorded with its widget, so it is counted once.
function storeApi() {
  const s = document.querySelector("script[data-personalize]");
  const d = (s && s.dataset) || {};
  return { base: (d.storeApi || "/wp-json/wc/store/v1/").replace(/\/*$/, "/"), nonce: d.storeNonce || "" };
}

export function canAdd(platform) {
  return platform === "shopify" || (platform === "woocommerce" && !!storeApi().nonce);
}

export async function addToCart(platform, variant, widget) {
  const id = /^\d+$/.test(variant) ? Number(variant) : variant;
  let url = "";
  let body = null;
  const headers = { "Content-Type": "application/json", Accept: "application/json" };
  if (platform === "shopify") {
    // Shopify.routes.root carries a market's locale prefix ("/es/"); our own path off Shopify.
    const s = window.Shopify;
    const root = String((s && s.routes && s.routes.root) || "/").replace(/\/*$/, "/");
    url = root + "cart/add.js";
    body = { items: [{ id, quantity: 1, properties: { _personalize_widget: widget } }] };
  } else if (platform === "woocommerce") {
    const api = storeApi();
    url = api.base + "cart/add-item";
    headers.Nonce = api.nonce;
    headers["X-Personalize-Widget"] = widget;
    body = { id, quantity: 1 };
  } else return false;
  try {
    const res = await fetch(url, { method: "POST", credentials: "same-origin", headers, body: JSON.stringify(body) });
    if (res.ok && platform === "woocommerce" && window.jQuery) window.jQuery(document.body).trigger("wc_fragment_refresh");
    if (res.ok) document.dispatchEvent(new CustomEvent("personalize:cart_changed", { detail: { variant, widget } }));
    return res.ok;
  } catch (e) {
    return false;
  }
}
