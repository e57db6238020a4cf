// Stands in for https://cdn.shopify.com/shopifycloud/app-bridge.js in browser tests: `shopify.idToken()` answers
// the session token the test signed (__TOKEN__ is replaced when the test serves this file), as App Bridge does.
window.shopify = {
  idToken: function () { return Promise.resolve("__TOKEN__"); },
  config: { apiKey: document.querySelector("meta[name=shopify-api-key]").content },
};
