// Stands in for https://cdn.shopify.com/shopifycloud/polaris.js in browser tests (no internet there): defines the
// Polaris web components our pages use, each rendering a heading attribute (if any) and its children, so a test
// sees the pages with the components defined, as in Shopify's admin, and not only the local fallback.
(function () {
  ["s-page", "s-section", "s-stack", "s-box"].forEach(function (name) {
    if (customElements.get(name)) return;
    customElements.define(name, class extends HTMLElement {
      connectedCallback() {
        if (this.shadowRoot) return;
        var root = this.attachShadow({ mode: "open" });
        var heading = this.getAttribute("heading");
        if (heading) {
          var h = document.createElement(name === "s-page" ? "h1" : "h2");
          h.textContent = heading;
          root.appendChild(h);
        }
        root.appendChild(document.createElement("slot"));
      }
    });
  });
  window.__polarisStub = true;
})();
