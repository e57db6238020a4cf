// The few strings the script shows itself; titles come from the merchant's settings via the API.
const STRINGS = {
  en: {
    also_bought: "Customers also bought",
    recently_viewed: "Continue shopping",
    bestsellers: "Bestsellers",
    for_you: "Recommended for you",
    sold_out: "Sold out",
    was: "Regular price",
    prev: "Previous products",
    next: "Next products",
    add: "Add to cart",
    added: "Added to cart",
    add_failed: "Could not add to cart",
  },
  es: {
    also_bought: "Los clientes también compraron",
    recently_viewed: "Sigue comprando",
    bestsellers: "Los más vendidos",
    for_you: "Recomendado para ti",
    sold_out: "Agotado",
    was: "Precio habitual",
    prev: "Productos anteriores",
    next: "Productos siguientes",
    add: "Añadir al carrito",
    added: "Añadido al carrito",
    add_failed: "No se pudo añadir al carrito",
  },
};

export function t(locale, key) {
  return (STRINGS[locale] || STRINGS.en)[key] || STRINGS.en[key] || "";
}
