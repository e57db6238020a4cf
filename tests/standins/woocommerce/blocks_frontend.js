// What WooCommerce 11's block product grid does when a shopper presses "Add to cart" (the woocommerce/product-button
// Interactivity API store, actions.addCartItem): POST the Store API's cart/add-item with the product from the
// button's data-wp-context, then announce it on document.body with `wc-blocks_added_to_cart`, whose detail is only
// { preserveCartData: true } (no product id). Loaded by the browser tests into pages the plugin rendered.
document.addEventListener("click", async (event) => {
  const button = event.target.closest('[data-wp-on--click="actions.addCartItem"]');
  if (!button) return;
  event.preventDefault();
  const context = JSON.parse(button.closest("[data-wp-context]").dataset.wpContext);
  const api = document.querySelector('link[rel="https://api.w.org/"]').href;
  button.classList.add("loading");
  const response = await fetch(api + "wc/store/v1/cart/add-item", {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ id: context.productId, quantity: context.quantityToAdd }),
  });
  button.classList.remove("loading");
  if (!response.ok) return;
  button.classList.add("added");
  document.body.dispatchEvent(
    new CustomEvent("wc-blocks_added_to_cart", { bubbles: true, cancelable: true, detail: { preserveCartData: true } }),
  );
});
