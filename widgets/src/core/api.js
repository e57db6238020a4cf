// Widget payloads: aborted after 2.5 s; anything malformed becomes null so the widget simply stays hidden.
import { identity } from "./transport.js";

function cleanItem(it) {
  if (!it || typeof it !== "object") return null;
  const id = it.id == null ? "" : String(it.id);
  if (!id || typeof it.title !== "string" || typeof it.url !== "string") return null;
  return it;
}

export async function fetchWidget(cfg, name, params) {
  if (!cfg.api) return null;
  const who = identity();
  // Behind Shopify's app proxy the signed request names the shop; elsewhere the public key does.
  const q = new URLSearchParams({ locale: cfg.locale });
  const all = { key: cfg.key, ...params, visitor: who.visitor, customer: who.customer, customer_sig: who.customer_sig };
  for (const k in all) if (all[k]) q.set(k, all[k]);
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), 2500);
  try {
    const res = await fetch(`${cfg.api}/widgets/${name}?${q}`, { signal: ctl.signal, credentials: "omit" });
    if (!res.ok) return null;
    const data = await res.json();
    if (!data || data.enabled === false || !Array.isArray(data.items)) return null;
    const items = data.items.map(cleanItem).filter(Boolean);
    return items.length ? { ...data, items } : null;
  } catch (e) {
    return null;
  } finally {
    clearTimeout(timer);
  }
}
