// Events are queued and sent in small batches as text/plain (no CORS preflight), with sendBeacon or fetch
// keepalive so the last batch survives navigation. Nothing here ever throws into the host page.
import { analyticsAllowed } from "./consent.js";
import { sessionId, visitorId } from "./storage.js";

const MAX_BATCH = 20;
let queue = [];
let timer = 0;
let cfg = null;

export function identity() {
  if (!analyticsAllowed(cfg)) return { visitor: "", session: "", customer: "", consent: { analytics: false } };
  const customer = cfg.customer;
  return { visitor: visitorId(), session: sessionId(), customer, customer_sig: customer && cfg.customerSig, consent: { analytics: true } };
}

export function flush() {
  clearTimeout(timer);
  timer = 0;
  while (queue.length && cfg.api) {
    const events = queue.splice(0, MAX_BATCH);
    const body = JSON.stringify({ key: cfg.key, ...identity(), events });
    const url = cfg.api + "/events";
    let sent = false;
    try {
      sent = navigator.sendBeacon && navigator.sendBeacon(url, body);
    } catch (e) {
      sent = false;
    }
    if (!sent) {
      try {
        fetch(url, { method: "POST", body, keepalive: true, credentials: "omit" }).catch(() => {});
      } catch (e) {
        /* the network is gone; analytics is best effort */
      }
    }
  }
}

export function track(type, fields, now) {
  if (!cfg) return;
  const ev = { type, ts: Date.now() };
  for (const k in fields) if (fields[k]) ev[k] = String(fields[k]).slice(0, 64);
  queue.push(ev);
  if (now || queue.length >= MAX_BATCH) flush();
  else if (!timer) timer = setTimeout(flush, 1000);
}

export function startTransport(config) {
  cfg = config;
  addEventListener("visibilitychange", () => document.visibilityState === "hidden" && flush());
  addEventListener("pagehide", flush);
}
