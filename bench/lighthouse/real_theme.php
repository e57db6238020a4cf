<?php
// A WooCommerce store's pages as a block theme (Twenty Twenty-Five's structure: header and footer template parts,
// global styles inline, the theme's stylesheet, WooCommerce's product blocks) rendered by php-cli with the
// Personalize plugin's own PHP loaded (WordPress's few functions stubbed by tests/.../php/harness.php). With an
// empty config the plugin is not connected and prints nothing: the baseline page.
//
// Usage: php real_theme.php <home|category|product|cart> <config-json> [images-base]
// Env: PZ_HOME (the store's origin), PZ_PRODUCT / PZ_CATEGORY (the page's ids), PZ_GRID ("id:name,...").

$page = $argv[1] ?? 'home';
$images = $argv[3] ?? '/img';
// The harness loads the plugin under its stubs; mode "lib" prints nothing of its own.
$argv = array( 'harness.php', 'lib', $argv[2] ?? '{}', '' );
require dirname( __DIR__, 2 ) . '/tests/integrations/woocommerce/php/harness.php';

$grid = array();
foreach ( array_filter( explode( ',', (string) getenv( 'PZ_GRID' ) ) ) as $entry ) {
	list( $id, $name, $slug ) = array_pad( explode( ':', $entry, 3 ), 3, '' );
	$grid[] = array( (int) $id, $name, $slug );
}

function pz_card( $p, $images ) {
	list( $id, $name, $slug ) = $p;
	$context = esc_attr( json_encode( array( 'quantityToAdd' => 1, 'productId' => $id, 'productType' => 'simple', 'addToCartText' => 'Add to cart', 'tempQuantity' => 0 ) ) );
	return '<li class="wc-block-product post-' . $id . ' product type-product status-publish instock">'
		. '<figure class="wp-block-woocommerce-product-image"><a href="' . esc_url( home_url( '/product/' . $slug . '/' ) ) . '"><img width="600" height="600" loading="lazy" decoding="async" src="' . esc_attr( $images . '/' . $slug . '.svg' ) . '" alt="' . esc_attr( $name ) . '"></a></figure>'
		. '<h3 class="wp-block-post-title has-text-align-center has-medium-font-size"><a href="' . esc_url( home_url( '/product/' . $slug . '/' ) ) . '">' . esc_html( $name ) . '</a></h3>'
		. '<div class="wp-block-woocommerce-product-price has-text-align-center"><span class="woocommerce-Price-amount amount">24,50&nbsp;€</span></div>'
		. '<div data-block-name="woocommerce/product-button" class="wp-block-woocommerce-product-button"><div class="wp-block-button wc-block-components-product-button" data-wp-interactive="woocommerce/product-button" data-wp-context="' . $context . '">'
		. '<button class="wp-block-button__link wp-element-button add_to_cart_button ajax_add_to_cart product_type_simple" data-product_id="' . $id . '">Add to cart</button></div></div></li>';
}

function pz_grid( $items, $images ) {
	return '<ul class="wc-block-product-template wp-block-woocommerce-product-template is-layout-grid columns-4">' . implode( '', array_map( function ( $p ) use ( $images ) { return pz_card( $p, $images ); }, $items ) ) . '</ul>';
}

// The page's blocks: [blockName, attrs, html]; each goes through render_block as WP_Block::render does.
$blocks = array();
$title  = 'Shop';
if ( 'product' === $page ) {
	$p     = $grid[0];
	$title = $p[1];
	$blocks[] = array( 'core/columns', array(), '<div class="wp-block-columns alignwide is-layout-flex"><div class="wp-block-column"><div class="wp-block-woocommerce-product-image-gallery"><img width="600" height="600" fetchpriority="high" decoding="async" src="' . esc_attr( $images . '/' . $p[2] . '.svg' ) . '" alt="' . esc_attr( $p[1] ) . '"></div></div>'
		. '<div class="wp-block-column"><h1 class="wp-block-post-title">' . esc_html( $p[1] ) . '</h1><div class="wp-block-woocommerce-product-price"><span class="woocommerce-Price-amount amount">129,00&nbsp;€</span></div>'
		. '<div class="wp-block-post-excerpt"><p class="wp-block-post-excerpt__excerpt">A light, windproof jacket for long days on the trail, with taped seams and a hood that packs into the collar.</p></div>' );
	$blocks[] = array( 'woocommerce/add-to-cart-form', array(), '<div class="wp-block-add-to-cart-form wc-block-add-to-cart-form"><form class="cart" method="post"><div class="quantity"><input type="number" class="input-text qty text" name="quantity" value="1" min="1" aria-label="Quantity"></div><button type="submit" name="add-to-cart" value="' . (int) $p[0] . '" class="single_add_to_cart_button button alt wp-element-button">Add to cart</button></form></div></div></div>' );
	$blocks[] = array( 'woocommerce/product-details', array(), '<div class="wp-block-woocommerce-product-details alignwide"><div class="woocommerce-tabs wc-tabs-wrapper"><ul class="tabs wc-tabs" role="tablist"><li class="description_tab active"><a href="#tab-description">Description</a></li></ul><div class="woocommerce-Tabs-panel" id="tab-description"><p>Three-layer shell, 320 g. Pit zips, two chest pockets, adjustable cuffs. Machine wash cold.</p></div></div></div>' );
	$blocks[] = array( 'woocommerce/product-collection', array( 'collection' => 'woocommerce/product-collection/related', 'query' => array( 'inherit' => false ) ), '<div class="wp-block-woocommerce-product-collection alignwide"><h2 class="wp-block-heading">Related products</h2>' . pz_grid( array_slice( $grid, 1, 4 ), $images ) . '</div>' );
} elseif ( 'category' === $page ) {
	$title = 'Outdoor';
	$blocks[] = array( 'core/query-title', array(), '<h1 class="wp-block-query-title alignwide">Outdoor</h1>' );
	$blocks[] = array( 'woocommerce/product-collection', array( 'query' => array( 'inherit' => true, 'perPage' => 16 ) ), '<div data-wp-interactive="woocommerce/product-collection" class="wp-block-woocommerce-product-collection alignwide">' . pz_grid( $grid, $images ) . '</div>' );
} elseif ( 'cart' === $page ) {
	$title = 'Cart';
	$blocks[] = array( 'woocommerce/cart', array(), '<div class="wp-block-woocommerce-cart alignwide is-loading"><div class="wp-block-woocommerce-filled-cart-block"><div class="wp-block-woocommerce-cart-items-block"><table class="wc-block-cart-items"><tbody><tr class="wc-block-cart-items__row"><td>' . esc_html( $grid[0][1] ) . '</td></tr></tbody></table></div><div class="wp-block-woocommerce-cart-totals-block"></div></div><div class="wp-block-woocommerce-empty-cart-block" hidden></div></div>' );
} else {
	$title = 'Home';
	$blocks[] = array( 'core/cover', array(), '<div class="wp-block-cover alignfull" style="min-height:60vh"><img class="wp-block-cover__image-background" width="600" height="600" fetchpriority="high" decoding="async" src="' . esc_attr( $images . '/' . $grid[0][2] . '.svg' ) . '" alt=""><div class="wp-block-cover__inner-container"><h1 class="wp-block-heading has-text-align-center">Made for the trail</h1><p class="has-text-align-center">New season jackets, hats and gloves.</p></div></div>' );
	$blocks[] = array( 'woocommerce/product-collection', array( 'query' => array( 'inherit' => false, 'perPage' => 8 ) ), '<div class="wp-block-woocommerce-product-collection alignwide"><h2 class="wp-block-heading">New arrivals</h2>' . pz_grid( array_slice( $grid, 0, 8 ), $images ) . '</div>' );
	// The merchant placed the plugin's Bestsellers block on the home template (a server-rendered block).
	if ( isset( $GLOBALS['pz_blocks']['bestsellers'] ) && Personalize_App::is_connected() ) {
		$blocks[] = array( 'personalize/bestsellers', array(), $GLOBALS['pz_blocks']['bestsellers'][1]['render_callback']( array( 'limit' => 8 ) ) );
	}
}

Personalize_Storefront::enqueue();
echo "<!doctype html>\n<html lang=\"en-US\"><head><meta charset=\"UTF-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
echo '<title>' . esc_html( $title ) . " – Trail Store</title>\n";
pz_print_enqueued();
// The theme's own stylesheet and global styles, as Twenty Twenty-Five prints them (same on both variants).
echo "<link rel=\"stylesheet\" id=\"twentytwentyfive-style-css\" href=\"/theme/style.css\" media=\"all\">\n";
echo "<style id=\"global-styles-inline-css\">:root{--wp--preset--color--base:#FFFFFF;--wp--preset--color--contrast:#111111;--wp--preset--spacing--50:clamp(30px,5vw,50px);--wp--preset--font-size--medium:clamp(1rem,1rem + ((1vw - 0.2rem) * 0.196),1.125rem)}body{background-color:var(--wp--preset--color--base);color:var(--wp--preset--color--contrast);font-family:system-ui,-apple-system,\"Segoe UI\",sans-serif;font-size:1.125rem;line-height:1.4}</style>\n";
echo "</head>\n<body class=\"wp-theme-twentytwentyfive woocommerce-page\"><div class=\"wp-site-blocks\">\n";
echo '<header class="wp-block-template-part"><div class="wp-block-group alignwide has-global-padding is-layout-flex"><p class="wp-block-site-title"><a href="' . esc_url( home_url( '/' ) ) . '">Trail Store</a></p><nav class="wp-block-navigation"><ul class="wp-block-navigation__container"><li><a href="' . esc_url( home_url( '/shop/' ) ) . '">Shop</a></li><li><a href="' . esc_url( home_url( '/product-category/outdoor/' ) ) . '">Outdoor</a></li><li><a href="' . esc_url( home_url( '/cart/' ) ) . "\">Cart</a></li></ul></nav></div></header>\n";
echo "<main class=\"wp-block-group has-global-padding is-layout-constrained\">\n";
foreach ( $blocks as $b ) {
	echo apply_filters( 'render_block', $b[2], array( 'blockName' => $b[0], 'attrs' => $b[1], 'innerBlocks' => array() ) ), "\n";
}
echo "</main>\n";
echo "<footer class=\"wp-block-template-part\"><div class=\"wp-block-group alignwide\"><p>Trail Store · Designed with WordPress</p></div></footer></div>\n";
do_action( 'wp_footer' );
echo "</body></html>\n";
