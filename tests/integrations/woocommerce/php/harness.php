<?php
// Loads the plugin under php-cli with the few WordPress and WooCommerce functions it calls, stubbed, and prints
// what it would put on a page. Usage: php harness.php <mode> <config-json> [app-url]
// Stubs follow WordPress's documented behaviour closely enough for markup and signing; no WordPress is needed.
//
// Environment: PZ_STATE names a JSON file that keeps options, transients and the WooCommerce session between runs
// (the site's database and the shopper's session across requests); PZ_REAL_HTTP=1 makes wp_remote_post a real
// HTTP request; PZ_STORE is a WooCommerce stand-in whose API keys are the woocommerce_api_keys table ($wpdb);
// PZ_HOME is the site's home URL; PZ_TTL overrides PERSONALIZE_CONFIG_TTL.

define( 'ABSPATH', __DIR__ . '/' );
// PZ_HEADERS: the request's headers (JSON object), as PHP's SAPI exposes them in $_SERVER (HTTP_X_FOO_BAR).
foreach ( json_decode( (string) getenv( 'PZ_HEADERS' ), true ) ?: array() as $pz_name => $pz_value ) {
	$_SERVER[ 'HTTP_' . strtoupper( str_replace( '-', '_', $pz_name ) ) ] = (string) $pz_value;
}
define( 'ARRAY_A', 'ARRAY_A' );
if ( getenv( 'PZ_TTL' ) !== false ) {
	define( 'PERSONALIZE_CONFIG_TTL', (int) getenv( 'PZ_TTL' ) );
}
$GLOBALS['pz_state_file'] = getenv( 'PZ_STATE' ) ?: '';
$pz_state = $GLOBALS['pz_state_file'] && is_file( $GLOBALS['pz_state_file'] ) ? json_decode( file_get_contents( $GLOBALS['pz_state_file'] ), true ) : null;
$GLOBALS['pz_options'] = $pz_state['options'] ?? array( 'personalize_config' => json_decode( $argv[2] ?? '{}', true ) ?: array(), 'personalize_app_url' => $argv[3] ?? '' );
if ( isset( $argv[3] ) && '' !== $argv[3] ) {
	$GLOBALS['pz_options']['personalize_app_url'] = $argv[3];
}
$GLOBALS['pz_session'] = $pz_state['session'] ?? array();
$GLOBALS['pz_hooks'] = array();
$GLOBALS['pz_shortcodes'] = array();
$GLOBALS['pz_posted'] = null;
$GLOBALS['pz_page'] = array( 'product' => (int) ( getenv( 'PZ_PRODUCT' ) !== false ? getenv( 'PZ_PRODUCT' ) : 4242 ), 'user' => (int) ( getenv( 'PZ_USER' ) ?: 7 ), 'category' => (int) ( getenv( 'PZ_CATEGORY' ) ?: 0 ) );
$GLOBALS['pz_scripts'] = array();

function pz_save_state() {
	if ( $GLOBALS['pz_state_file'] ) {
		file_put_contents( $GLOBALS['pz_state_file'], json_encode( array( 'options' => $GLOBALS['pz_options'], 'session' => $GLOBALS['pz_session'] ) ) );
	}
}
// As WordPress does (wp-settings.php registers shutdown_action_hook): `shutdown` runs when the request ends.
register_shutdown_function( function () { do_action( 'shutdown' ); pz_save_state(); } );

function plugin_dir_path( $f ) { return dirname( $f ) . '/'; }
function plugin_basename( $f ) { return basename( dirname( $f ) ) . '/' . basename( $f ); }
function add_action( $h, $cb, $p = 10, $n = 1 ) { $GLOBALS['pz_hooks'][ $h ][ $p ][] = $cb; }
function add_filter( $h, $cb, $p = 10, $n = 1 ) { $GLOBALS['pz_hooks'][ $h ][ $p ][] = $cb; }
function pz_callbacks( $h ) { $by = $GLOBALS['pz_hooks'][ $h ] ?? array(); ksort( $by ); return $by ? array_merge( ...array_values( $by ) ) : array(); }
function do_action( $h, ...$args ) { foreach ( pz_callbacks( $h ) as $cb ) { call_user_func_array( $cb, $args ); } }
function apply_filters( $h, $value, ...$args ) { foreach ( pz_callbacks( $h ) as $cb ) { $value = call_user_func_array( $cb, array_merge( array( $value ), $args ) ); } return $value; }
function register_deactivation_hook( $f, $cb ) { add_action( 'deactivate', $cb ); }
function get_option( $k, $d = false ) { return $GLOBALS['pz_options'][ $k ] ?? $d; }
function update_option( $k, $v, $a = null ) { $GLOBALS['pz_options'][ $k ] = $v; return true; }
function delete_option( $k ) { unset( $GLOBALS['pz_options'][ $k ] ); return true; }
function get_transient( $k ) { $t = $GLOBALS['pz_options'][ '_transient_' . $k ] ?? null; return $t && $t[1] > time() ? $t[0] : false; }
function set_transient( $k, $v, $ttl = 0 ) { $GLOBALS['pz_options'][ '_transient_' . $k ] = array( $v, time() + ( $ttl ?: 86400 ) ); return true; }
function delete_transient( $k ) { unset( $GLOBALS['pz_options'][ '_transient_' . $k ] ); return true; }
function untrailingslashit( $s ) { return rtrim( $s, '/\\' ); }
function esc_url_raw( $u, $p = null ) { return preg_match( '#^https?://#i', (string) $u ) ? (string) $u : ''; }
function esc_url( $u ) { return htmlspecialchars( esc_url_raw( $u ), ENT_QUOTES ); }
function esc_attr( $s ) { return htmlspecialchars( (string) $s, ENT_QUOTES ); }
function esc_html( $s ) { return htmlspecialchars( (string) $s, ENT_QUOTES ); }
function sanitize_key( $k ) { return preg_replace( '/[^a-z0-9_\-]/', '', strtolower( (string) $k ) ); }
function wp_unslash( $v ) { return is_string( $v ) ? stripslashes( $v ) : $v; }
function rest_url( $p = '' ) { return home_url( '/wp-json/' . $p ); }
function wp_create_nonce( $a = -1 ) { return substr( md5( 'nonce-' . $a ), 0, 10 ); }
function __( $s, $d = null ) { return $s; }
function home_url( $p = '' ) { return ( getenv( 'PZ_HOME' ) ?: 'https://shop.example.com' ) . $p; }
function add_query_arg( $args, $url ) { $q = array(); foreach ( $args as $k => $v ) { $q[] = $k . "=" . $v; } return $url . ( strpos( $url, "?" ) === false ? "?" : "&" ) . implode( "&", $q ); } // WordPress does not encode values.
function get_current_user_id() { return $GLOBALS['pz_page']['user']; }
function is_product() { return (bool) $GLOBALS['pz_page']['product']; }
function get_the_ID() { return $GLOBALS['pz_page']['product']; }
function is_product_category() { return (bool) $GLOBALS['pz_page']['category']; }
function is_cart() { return (bool) getenv( 'PZ_CART' ); }
function is_front_page() { return (bool) getenv( 'PZ_FRONT' ); }
function get_queried_object_id() { return $GLOBALS['pz_page']['category'] ?: $GLOBALS['pz_page']['product']; }
function determine_locale() { return 'es_ES'; }
function get_woocommerce_currency() { return 'EUR'; }
function absint( $v ) { return abs( (int) $v ); }
function shortcode_atts( $pairs, $atts, $sc = '' ) { $out = array(); foreach ( $pairs as $k => $v ) { $out[ $k ] = is_array( $atts ) && array_key_exists( $k, $atts ) ? $atts[ $k ] : $v; } return $out; }
function add_shortcode( $tag, $cb ) { $GLOBALS['pz_shortcodes'][ $tag ] = $cb; }
function register_block_type( $path, $args = array() ) { $GLOBALS['pz_blocks'][ basename( $path ) ] = array( json_decode( file_get_contents( $path . '/block.json' ), true ), $args ); }
function wp_doing_ajax() { return false; }
function wp_enqueue_script( $h, $src, $deps = array(), $ver = false, $args = array() ) { $GLOBALS['pz_scripts'][ $h ] = array( 'src' => $src, 'before' => '' ); }
function wp_register_style( $h, $src, $deps = array(), $ver = false ) { $GLOBALS['pz_styles'][ $h ] = array( 'src' => $src, 'inline' => '' ); }
function wp_enqueue_style( $h, $src = null, $deps = array(), $ver = false ) { if ( null !== $src || ! isset( $GLOBALS['pz_styles'][ $h ] ) ) { $GLOBALS['pz_styles'][ $h ] = array( 'src' => $src, 'inline' => '' ); } }
function wp_add_inline_style( $h, $css ) { $GLOBALS['pz_styles'][ $h ]['inline'] .= $css; }
function wp_strip_all_tags( $s ) { return trim( strip_tags( (string) $s ) ); }
function wp_parse_url( $u, $c = -1 ) { return parse_url( $u, $c ); }
function wp_add_inline_script( $h, $js, $pos = 'after' ) { $GLOBALS['pz_scripts'][ $h ]['before'] .= $js; }
function pz_print_enqueued() {
	// wp_resource_hints() (wp_head, priority 2): one <link> per hint the filter returns.
	foreach ( apply_filters( 'wp_resource_hints', array(), 'preconnect' ) as $hint ) {
		$hint = is_array( $hint ) ? $hint : array( 'href' => $hint );
		echo "<link rel='preconnect' href='" . esc_url( $hint['href'] ) . "'" . ( isset( $hint['crossorigin'] ) ? " crossorigin='" . esc_attr( $hint['crossorigin'] ) . "'" : '' ) . " />\n";
	}
	// WP_Styles::do_item: a <link> only for a handle with a URL, then its inline <style>.
	foreach ( $GLOBALS['pz_styles'] ?? array() as $h => $st ) {
		if ( $st['src'] ) { echo '<link rel="stylesheet" id="' . esc_attr( $h ) . '-css" href="' . esc_url( $st['src'] ) . "\">\n"; }
		if ( $st['inline'] ) { echo '<style id="' . esc_attr( $h ) . '-inline-css">' . $st['inline'] . "</style>\n"; }
	}
	// As WP_Scripts::do_item builds it: the inline "before" script, then the tag, through script_loader_tag.
	foreach ( $GLOBALS['pz_scripts'] as $h => $s ) {
		$tag = ( $s['before'] ? "<script id=\"{$h}-js-before\">{$s['before']}</script>\n" : '' ) . "<script src=\"" . esc_url( $s['src'] ) . "\" id=\"{$h}-js\"></script>\n";
		echo apply_filters( 'script_loader_tag', $tag, $h, $s['src'] );
	}
}
function get_user_by( $field, $value ) { return (object) array( 'ID' => 2 ); }
function wp_json_encode( $v ) { return json_encode( $v ); }
function nocache_headers() {}
function wp_send_json( $v ) { echo json_encode( $v ); exit; }
function is_wp_error( $v ) { return $v instanceof WP_Error; }
class WP_Error { public $code; public $message; function __construct( $c = '', $m = '' ) { $this->code = $c; $this->message = $m; } function get_error_code() { return $this->code; } }
function wp_remote_post( $url, $args ) {
	$GLOBALS['pz_posted'] = array( 'url' => $url ) + $args;
	if ( ! getenv( 'PZ_REAL_HTTP' ) ) {
		return array( 'code' => 200, 'body' => '{"connected":true}' );
	}
	$headers = array();
	foreach ( $args['headers'] as $k => $v ) { $headers[] = "$k: $v"; }
	$ctx  = stream_context_create( array( 'http' => array( 'method' => 'POST', 'header' => implode( "\r\n", $headers ), 'content' => $args['body'], 'timeout' => $args['timeout'], 'ignore_errors' => true ) ) );
	$body = @file_get_contents( $url, false, $ctx );
	if ( false === $body ) {
		return new WP_Error( 'http_request_failed', 'could not connect' );
	}
	preg_match( '#^HTTP/\S+ (\d+)#', $http_response_header[0], $m );
	return array( 'code' => (int) $m[1], 'body' => $body );
}
function wp_remote_retrieve_body( $r ) { return $r['body']; }
function wp_remote_retrieve_response_code( $r ) { return $r['code']; }
class PZ_Session { function get( $k, $d = null ) { return $GLOBALS['pz_session'][ $k ] ?? $d; } function set( $k, $v ) { $GLOBALS['pz_session'][ $k ] = $v; } }
class PZ_WC { public $session; public $cart = null; function __construct() { $this->session = new PZ_Session(); } }
function WC() { static $wc; return $wc ?: ( $wc = new PZ_WC() ); }
// $wpdb, for the one table the plugin reads: woocommerce_api_keys. With PZ_STORE it is the stand-in store's keys
// (the plugin and WooCommerce share the site's database); without, one row holding PZ_SECRET.
class PZ_DB {
	public $prefix = 'wp_';
	public $secret = '';
	private $like = '';
	function prepare( $q, ...$a ) { $this->like = (string) ( $a[0] ?? '' ); return $q; }
	function esc_like( $s ) { return $s; }
	function get_results( $q, $output = null ) {
		$store = getenv( 'PZ_STORE' );
		$rows  = $store ? json_decode( file_get_contents( $store . '/__wp/woocommerce_api_keys' ), true ) : ( $this->secret ? array( array( 'key_id' => 1, 'description' => 'Personalize - API (2026-01-01 00:00:00)', 'consumer_secret' => $this->secret ) ) : array() );
		$prefix = rtrim( $this->like, '%' );
		$rows   = array_values( array_filter( $rows, function ( $r ) use ( $prefix ) { return 0 === strpos( $r['description'], $prefix ); } ) );
		usort( $rows, function ( $a, $b ) { return $b['key_id'] - $a['key_id']; } );
		return $rows;
	}
	function get_var( $q ) { $rows = $this->get_results( $q ); return $rows ? $rows[0]['consumer_secret'] : null; } // the one column it is asked for
	function delete( $table, $where, $format = null ) {
		$store = getenv( 'PZ_STORE' );
		if ( ! $store || 'wp_woocommerce_api_keys' !== $table ) {
			return false;
		}
		$ctx = stream_context_create( array( 'http' => array( 'method' => 'DELETE', 'ignore_errors' => true ) ) );
		file_get_contents( $store . '/__wp/woocommerce_api_keys/' . (int) $where['key_id'], false, $ctx );
		return 1;
	}
}
$GLOBALS['wpdb'] = new PZ_DB();
$GLOBALS['wpdb']->secret = getenv( 'PZ_SECRET' ) ?: '';

require dirname( __DIR__, 4 ) . '/integrations/woocommerce/wordpress-plugin/personalize/personalize.php';
do_action( 'init' );

$mode = $argv[1] ?? 'tag';
if ( 'tag' === $mode ) {
	$wp_tag = "<script id=\"personalize-storefront-js-before\">bridge()</script>\n<script src=\"https://app.example/static/personalize.js\" id=\"personalize-storefront-js\"></script>\n";
	echo Personalize_Storefront::script_tag( $wp_tag, 'personalize-storefront' );
} elseif ( 'placeholders' === $mode ) {
	echo $GLOBALS['pz_shortcodes']['personalize_also_bought']( array( 'product' => '"><script>alert(1)</script>', 'limit' => '500' ) ), "\n";
	echo $GLOBALS['pz_shortcodes']['personalize_recently_viewed']( array() ), "\n";
	echo $GLOBALS['pz_shortcodes']['personalize_bestsellers']( '' ), "\n";
	echo $GLOBALS['pz_blocks']['bestsellers'][1]['render_callback']( array( 'limit' => 3 ) ), "\n";
	ob_start(); Personalize_Storefront::product_widgets(); Personalize_Storefront::cart_widgets(); echo ob_get_clean(), "\n";
} elseif ( 'events' === $mode ) {
	Personalize_Storefront::remember_add_to_cart( 'k', 31, 2 );
	Personalize_Storefront::print_add_to_cart_events();
	echo "\n--\n";
	Personalize_Storefront::print_add_to_cart_events();
} elseif ( 'signed' === $mode ) {
	$result = Personalize_App::disconnect( true );
	echo json_encode( array( 'ok' => true === $result, 'url' => $GLOBALS['pz_posted']['url'], 'body' => $GLOBALS['pz_posted']['body'], 'signature' => $GLOBALS['pz_posted']['headers']['X-Personalize-Signature'] ) );
} elseif ( 'erase' === $mode ) {
	$erasers = apply_filters( 'wp_privacy_personal_data_erasers', array() );
	$result  = call_user_func( $erasers['personalize']['callback'], 'Ana.Garcia.0@example.com' );
	echo json_encode( array( 'result' => $result, 'url' => $GLOBALS['pz_posted']['url'], 'body' => $GLOBALS['pz_posted']['body'], 'signature' => $GLOBALS['pz_posted']['headers']['X-Personalize-Signature'] ) );
} elseif ( 'page' === $mode ) {
	// A WooCommerce single-product page as a classic theme renders it, with the plugin's output in place.
	Personalize_Storefront::enqueue();
	$title = getenv( 'PZ_TITLE' ) ?: 'Product';
	echo "<!doctype html>\n<html lang=\"en-US\"><head><meta charset=\"UTF-8\"><title>" . esc_html( $title ) . "</title>\n";
	pz_print_enqueued();
	echo "</head>\n<body class=\"product-template-default single single-product woocommerce woocommerce-page\">\n";
	echo '<div id="product-' . (int) get_the_ID() . '" class="product type-product"><div class="summary entry-summary"><h1 class="product_title entry-title">' . esc_html( $title ) . '</h1>';
	echo '<form class="cart" method="post" enctype="multipart/form-data"><button type="submit" name="add-to-cart" value="' . (int) get_the_ID() . '" class="single_add_to_cart_button button alt">Add to cart</button></form></div>';
	echo '<div class="woocommerce-tabs"><p>Description</p></div>';
	Personalize_Storefront::product_widgets();
	echo "</div>\n";
	Personalize_Storefront::remember_add_to_cart( 'k', get_the_ID(), 1 );
	Personalize_Storefront::print_add_to_cart_events();
	echo "</body></html>\n";
} elseif ( 'connect' === $mode ) {
	echo Personalize_App::connect_url();
} elseif ( 'refresh' === $mode ) {
	$result = Personalize_App::refresh_config();
	echo json_encode( array( 'ok' => true === $result, 'config' => get_option( 'personalize_config' ) ) );
} elseif ( 'disconnect' === $mode ) {
	$result = Personalize_App::disconnect( false );
	echo json_encode( array( 'ok' => true === $result ) );
} elseif ( 'store-api-add' === $mode ) {
	// POST /wp-json/wc/store/v1/cart/add-item: the Store API's CartController::add_to_cart fires the classic action.
	$item = json_decode( (string) getenv( 'PZ_BODY' ), true ) ?: array();
	do_action( 'woocommerce_add_to_cart', md5( (string) ( $item['id'] ?? '' ) ), (int) ( $item['id'] ?? 0 ), (int) ( $item['quantity'] ?? 1 ), 0, array(), array() );
	echo json_encode( array( 'items_count' => (int) ( $item['quantity'] ?? 1 ) ) );
} elseif ( 'wc-ajax' === $mode ) {
	// WC_AJAX::do_wc_ajax(): /?wc-ajax=<action> runs the wc_ajax_<action> hook.
	do_action( 'wc_ajax_' . preg_replace( '/[^a-z_]/', '', (string) getenv( 'PZ_WC_AJAX' ) ) );
} elseif ( 0 === strpos( $mode, 'block-' ) ) {
	// Pages of a block theme (Twenty Twenty-Five) as WooCommerce 11 renders them: each block's HTML goes through
	// the render_block filter, as WP_Block::render does; no classic template hook fires.
	Personalize_Storefront::enqueue();
	$blocks = array();
	if ( 'block-cart' === $mode ) {
		$blocks[] = array( 'woocommerce/cart', array(), '<div class="wp-block-woocommerce-cart alignwide is-loading"><div class="wp-block-woocommerce-filled-cart-block"><div class="wp-block-woocommerce-cart-items-block"><table class="wc-block-cart-items"><tbody><tr class="wc-block-cart-items__row"><td>' . esc_html( getenv( 'PZ_TITLE' ) ?: 'Product' ) . '</td></tr></tbody></table></div><div class="wp-block-woocommerce-cart-totals-block"></div></div><div class="wp-block-woocommerce-empty-cart-block" hidden></div></div>' );
	} elseif ( 'block-product' === $mode ) {
		$blocks[] = array( 'woocommerce/add-to-cart-form', array(), '<div class="wp-block-add-to-cart-form wc-block-add-to-cart-form"><form class="cart" method="post"><button type="submit" name="add-to-cart" value="' . (int) get_the_ID() . '" class="single_add_to_cart_button button alt">Add to cart</button></form></div>' );
		$blocks[] = array( 'woocommerce/product-details', array(), '<div class="wp-block-woocommerce-product-details"><div class="woocommerce-tabs wc-tabs-wrapper"><p>Description</p></div></div>' );
		$blocks[] = array( 'woocommerce/product-collection', array( 'collection' => 'woocommerce/product-collection/related', 'query' => array( 'inherit' => false ) ), '<div class="wp-block-woocommerce-product-collection"><h2>Related products</h2></div>' );
	} else {
		$grid = '';
		foreach ( array_filter( explode( ',', (string) getenv( 'PZ_GRID' ) ) ) as $n => $entry ) {
			list( $id, $name ) = explode( ':', $entry, 2 );
			$context = esc_attr( json_encode( array( 'quantityToAdd' => 1, 'productId' => (int) $id, 'productType' => 'simple', 'addToCartText' => 'Add to cart', 'tempQuantity' => 0 ) ) );
			$grid   .= '<li class="wc-block-product post-' . (int) $id . ' product type-product status-publish instock product_cat-outdoor">'
				. '<h3 class="wp-block-post-title has-text-align-center"><a href="' . esc_url( home_url( '/product/' . $id . '/' ) ) . '">' . esc_html( $name ) . '</a></h3>'
				. '<div data-block-name="woocommerce/product-button" class="wp-block-woocommerce-product-button has-small-font-size"><div class="wp-block-button wc-block-components-product-button" data-wp-interactive="woocommerce/product-button" data-wp-context="' . $context . '">'
				. '<button class="wp-block-button__link wp-element-button wc-block-components-product-button__button add_to_cart_button ajax_add_to_cart product_type_simple has-font-size has-small-font-size has-text-align-center wc-interactive" data-wp-on--click="actions.addCartItem" data-product_id="' . (int) $id . '" aria-label="' . esc_attr( 'Add to cart: ' . $name ) . '">Add to cart</button></div></div></li>';
		}
		$blocks[] = array( 'woocommerce/product-collection', array( 'query' => array( 'inherit' => true, 'perPage' => 9 ) ), '<div data-wp-interactive="woocommerce/product-collection" class="wp-block-woocommerce-product-collection is-layout-flow"><ul class="wc-block-product-template wp-block-woocommerce-product-template is-layout-grid columns-3">' . $grid . '</ul></div>' );
	}
	echo "<!doctype html>\n<html lang=\"en-US\"><head><meta charset=\"UTF-8\"><title>" . esc_html( getenv( 'PZ_TITLE' ) ?: 'Shop' ) . "</title>\n";
	pz_print_enqueued();
	echo "</head>\n<body class=\"wp-site-blocks woocommerce-page\"><main class=\"wp-block-group\">\n";
	foreach ( $blocks as $b ) {
		echo apply_filters( 'render_block', $b[2], array( 'blockName' => $b[0], 'attrs' => $b[1], 'innerBlocks' => array() ) ), "\n";
	}
	echo "</main>\n";
	do_action( 'wp_footer' );
	echo "</body></html>\n";
}
