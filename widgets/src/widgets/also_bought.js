// "Customers also bought": pairs with the product on the page (or the one the placeholder names), or, on a cart page,
// with the cart's products (`data-cart="id,id,..."`, e.g. Liquid's `cart.items | map: 'product_id' | join: ','`).
import { renderList } from "./product_list.js";

export default (host, ctx) => {
  const cart = (host.dataset.cart || "").split(",").filter((id) => /^[\w:./-]{1,64}$/.test(id)).slice(0, 20);
  const params = cart.length ? { cart: cart.join(",") } : { product: host.dataset.product || ctx.cfg.product };
  return renderList(host, ctx, "also_bought", params);
};
