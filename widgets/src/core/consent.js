// Shopify's Customer Privacy API decides when present; otherwise the host page's declaration does.
function privacyApi() {
  const s = window.Shopify;
  return s && s.customerPrivacy;
}

export function analyticsAllowed(cfg) {
  const api = privacyApi();
  if (api) {
    try {
      if (typeof api.analyticsProcessingAllowed === "function") return !!api.analyticsProcessingAllowed();
      if (typeof api.userCanBeTracked === "function") return !!api.userCanBeTracked();
    } catch (e) {
      return false;
    }
  }
  return cfg.consent;
}

// Resolves once the consent state is known: at once off Shopify, after the API loads on Shopify (capped).
export function consentReady() {
  const s = window.Shopify;
  if (!s || privacyApi() || typeof s.loadFeatures !== "function") return Promise.resolve();
  return new Promise((done) => {
    setTimeout(done, 1500);
    try {
      s.loadFeatures([{ name: "consent-tracking-api", version: "0.1" }], () => done());
    } catch (e) {
      done();
    }
  });
}
