<?php
// Loads the plugin under php-cli with the few WordPress and WooCommerce functions it calls, stubbed, and prints
// what it would put on a page. Usage: php harness.php <mode> <config-json>
// Stubs follow WordPress's documented behaviour closely enough for markup and signing; no WordPress is needed.

define( 'ABSPATH', __DIR__ . '/' );
$GLOBALS['pz_options'] = array( 'personalize_config' => json_decode( $argv[2] ?? '{}', true ) ?: array(), 'personalize_app_url' => $argv[3] ?? '' );
$GLOBALS['pz_hooks'] = array();
$GLOBALS['pz_shortcodes'] = array();
$GLOBALS['pz_session'] = array();
$GLOBALS['pz_posted'] = null;
$GLOBALS['pz_page'] = array( 'product' => (int) ( getenv( 'PZ_PRODUCT' ) ?: 4242 ), 'user' => (int) ( getenv( 'PZ_USER' ) ?: 7 ) );
$GLOBALS['pz_scripts'] = array();

function plugin_dir_path( $f ) { return dirname( $f ) . '/'; }
function plugin_basename( $f ) { return basename( dirname( $f ) ) . '/' . basename( $f ); }
function add_action( $h, $cb, $p = 10, $n = 1 ) { $GLOBALS['pz_hooks'][ $h ][] = $cb; }
function add_filter( $h, $cb, $p = 10, $n = 1 ) { $GLOBALS['pz_hooks'][ $h ][] = $cb; }
function register_deactivation_hook( $f, $cb ) { $GLOBALS['pz_hooks']['deactivate'][] = $cb; }
function get_option( $k, $d = false ) { return $GLOBALS['pz_options'][ $k ] ?? $d; }
function update_option( $k, $v, $a = null ) { $GLOBALS['pz_options'][ $k ] = $v; return true; }
function delete_option( $k ) { unset( $GLOBALS['pz_options'][ $k ] ); return true; }
function untrailingslashit( $s ) { return rtrim( $s, '/\\' ); }
function esc_url_raw( $u, $p = null ) { return preg_match( '#^https?://#i', (string) $u ) ? (string) $u : ''; }
function esc_url( $u ) { return htmlspecialchars( esc_url_raw( $u ), ENT_QUOTES ); }
function esc_attr( $s ) { return htmlspecialchars( (string) $s, ENT_QUOTES ); }
function esc_html( $s ) { return htmlspecialchars( (string) $s, ENT_QUOTES ); }
function __( $s, $d = null ) { return $s; }
function home_url( $p = '' ) { return 'https://shop.example.com' . $p; }
function add_query_arg( $args, $url ) { $q = array(); foreach ( $args as $k => $v ) { $q[] = $k . "=" . $v; } return $url . ( strpos( $url, "?" ) === false ? "?" : "&" ) . implode( "&", $q ); } // WordPress does not encode values.
function get_current_user_id() { return $GLOBALS['pz_page']['user']; }
function is_product() { return (bool) $GLOBALS['pz_page']['product']; }
function get_the_ID() { return $GLOBALS['pz_page']['product']; }
function is_product_category() { return false; }
function get_queried_object_id() { return 0; }
function determine_locale() { return 'es_ES'; }
function get_woocommerce_currency() { return 'EUR'; }
function absint( $v ) { return abs( (int) $v ); }
function shortcode_atts( $pairs, $atts, $sc = '' ) { $out = array(); foreach ( $pairs as $k => $v ) { $out[ $k ] = is_array( $atts ) && array_key_exists( $k, $atts ) ? $atts[ $k ] : $v; } return $out; }
function add_shortcode( $tag, $cb ) { $GLOBALS['pz_shortcodes'][ $tag ] = $cb; }
function register_block_type( $path, $args = array() ) { $GLOBALS['pz_blocks'][ basename( $path ) ] = array( json_decode( file_get_contents( $path . '/block.json' ), true ), $args ); }
function wp_doing_ajax() { return false; }
function wp_enqueue_script( $h, $src, $deps = array(), $ver = false, $args = array() ) { $GLOBALS['pz_scripts'][ $h ] = array( 'src' => $src, 'before' => '' ); }
function wp_enqueue_style( $h, $src, $deps = array(), $ver = false ) { $GLOBALS['pz_styles'][ $h ] = $src; }
function wp_add_inline_script( $h, $js, $pos = 'after' ) { $GLOBALS['pz_scripts'][ $h ]['before'] .= $js; }
function pz_print_enqueued() {
	// As WP_Scripts::do_item builds it: the inline "before" script, then the tag, through script_loader_tag.
	foreach ( $GLOBALS['pz_scripts'] as $h => $s ) {
		$tag = ( $s['before'] ? "<script id=\"{$h}-js-before\">{$s['before']}</script>\n" : '' ) . "<script src=\"" . esc_url( $s['src'] ) . "\" id=\"{$h}-js\"></script>\n";
		foreach ( $GLOBALS['pz_hooks']['script_loader_tag'] as $cb ) { $tag = call_user_func( $cb, $tag, $h, $s['src'] ); }
		echo $tag;
	}
	foreach ( $GLOBALS['pz_styles'] ?? array() as $h => $src ) { echo '<link rel="stylesheet" id="' . esc_attr( $h ) . '-css" href="' . esc_url( $src ) . "\">\n"; }
}
function get_user_by( $field, $value ) { return (object) array( 'ID' => 2 ); }
function wp_json_encode( $v ) { return json_encode( $v ); }
function is_wp_error( $v ) { return $v instanceof WP_Error; }
class WP_Error { public $code; public $message; function __construct( $c = '', $m = '' ) { $this->code = $c; $this->message = $m; } }
function wp_remote_post( $url, $args ) { $GLOBALS['pz_posted'] = array( 'url' => $url ) + $args; return array( 'code' => 200, 'body' => '{"connected":true}' ); }
function wp_remote_retrieve_body( $r ) { return $r['body']; }
function wp_remote_retrieve_response_code( $r ) { return $r['code']; }
class PZ_Session { function get( $k, $d = null ) { return $GLOBALS['pz_session'][ $k ] ?? $d; } function set( $k, $v ) { $GLOBALS['pz_session'][ $k ] = $v; } }
class PZ_WC { public $session; function __construct() { $this->session = new PZ_Session(); } }
function WC() { static $wc; return $wc ?: ( $wc = new PZ_WC() ); }
class PZ_DB { public $prefix = 'wp_'; public $secret = ''; function prepare( $q, ...$a ) { return $q; } function esc_like( $s ) { return $s; } function get_var( $q ) { return $this->secret; } }
$GLOBALS['wpdb'] = new PZ_DB();
$GLOBALS['wpdb']->secret = getenv( 'PZ_SECRET' ) ?: '';

require dirname( __DIR__, 4 ) . '/integrations/woocommerce/wordpress-plugin/personalize/personalize.php';
foreach ( $GLOBALS['pz_hooks']['init'] ?? array() as $cb ) { call_user_func( $cb ); }

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
	$erasers = $GLOBALS['pz_hooks']['wp_privacy_personal_data_erasers'][0]( array() );
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
}
