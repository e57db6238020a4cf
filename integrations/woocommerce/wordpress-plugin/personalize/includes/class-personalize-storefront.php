<?php
/**
 * What shoppers get: the Personalize storefront script (once per page, with the shop's public key, locale and
 * currency), widget placeholders on product, category and cart pages, a shortcode and a block per widget, and
 * add-to-cart events for the script to record.
 *
 * Placeholders reach both kinds of theme. Classic themes fire WooCommerce's template hooks
 * (woocommerce_after_single_product_summary, woocommerce_after_cart). Block themes (Twenty Twenty-Five, the default
 * cart and checkout blocks) fire none of those: there the placeholders follow the blocks themselves through the
 * `render_block` filter (after woocommerce/product-details, the cart block, a category's product collection). Each
 * page area gets its widgets once, whichever path runs first (WooCommerce's own hook-compatibility layer for block
 * templates may fire the classic hook as well).
 *
 * Add to cart: every path ends in WooCommerce's `woocommerce_add_to_cart` action (the classic form, the AJAX
 * button, the Store API behind the blocks), so that is where an add is recorded, server-side, in the shopper's
 * WooCommerce session (except a widget card's own Store API add, which the script records with its widget).
 * A full page prints the queued adds as markers; after an in-page add (jQuery `added_to_cart`,
 * or `wc-blocks_added_to_cart`, whose detail in WooCommerce 11 is only {preserveCartData: true}, no product) the
 * script fetches the queue from `?wc-ajax=personalize_cart_events`. Nothing is read from the browser events'
 * details, so no add is counted twice and none is missed when an event carries no product.
 *
 * The script tag carries the same data-* attributes as the Shopify app embed and the demo store
 * (templates/demostore/_app_embed.html), so one storefront script serves every platform.
 *
 * @package Personalize
 */

defined( 'ABSPATH' ) || exit;

/**
 * Storefront output.
 */
class Personalize_Storefront {

	const HANDLE = 'personalize-storefront';
	const WIDGETS = array(
		'also_bought'     => 'also-bought',
		'recently_viewed' => 'recently-viewed',
		'bestsellers'     => 'bestsellers',
		'for_you'         => 'for-you',
	);
	const SESSION_ADDED = 'personalize_added_to_cart';

	/**
	 * Hook into the storefront.
	 */
	public static function init() {
		add_action( 'wp_enqueue_scripts', array( __CLASS__, 'enqueue' ) );
		add_filter( 'script_loader_tag', array( __CLASS__, 'script_tag' ), 10, 3 );
		add_filter( 'wp_resource_hints', array( __CLASS__, 'resource_hints' ), 10, 2 );
		add_action( 'woocommerce_after_single_product_summary', array( __CLASS__, 'product_widgets' ), 25 );
		add_action( 'woocommerce_after_cart', array( __CLASS__, 'cart_widgets' ) );
		add_filter( 'render_block', array( __CLASS__, 'block_widgets' ), 10, 2 );
		add_action( 'woocommerce_add_to_cart', array( __CLASS__, 'remember_add_to_cart' ), 10, 6 );
		add_action( 'wp_footer', array( __CLASS__, 'print_add_to_cart_events' ) );
		add_action( 'wc_ajax_personalize_cart_events', array( __CLASS__, 'send_add_to_cart_events' ) );
		add_action( 'init', array( __CLASS__, 'register_shortcodes_and_blocks' ) );
	}

	/**
	 * Enqueue the script and its stylesheet once, when the app has configured this store.
	 */
	public static function enqueue() {
		$config = Personalize_App::config();
		if ( ! Personalize_App::is_connected() || empty( $config['script_url'] ) ) {
			return;
		}
		wp_enqueue_script( self::HANDLE, esc_url_raw( $config['script_url'] ), array(), null, array( 'in_footer' => false ) ); // phpcs:ignore WordPress.WP.EnqueuedResourceParameters.MissingVersion -- the app versions its own URL.
		// The placeholders' reserved space, inlined from the plugin's own folder: a stylesheet fetched from the app's
		// origin blocked first paint (a second connection before anything showed). A handle without a URL prints
		// only the inline <style>.
		wp_register_style( self::HANDLE, false, array(), PERSONALIZE_VERSION );
		wp_enqueue_style( self::HANDLE );
		wp_add_inline_style( self::HANDLE, self::reserve_css() );
		// After an in-page add (WooCommerce's AJAX buttons: a jQuery event; blocks: a DOM event without the product)
		// the adds the server recorded are fetched and become "personalize:added_to_cart" events. This runs in
		// <head>, before <body> and before WooCommerce's footer scripts exist: listeners attach once it is parsed.
		$bridge = '(function(){'
			. 'var url=' . wp_json_encode( self::events_url() ) . ';'
			. 'function send(p,q){if(p){document.dispatchEvent(new CustomEvent("personalize:added_to_cart",{detail:{product:String(p),quantity:Number(q||1)}}));}}'
			// Two drains may overlap (WooCommerce also re-fires a jQuery add as the blocks event): ids keep it once.
			. 'var seen={};'
			. 'function drain(){fetch(url,{credentials:"same-origin",headers:{Accept:"application/json"}}).then(function(r){return r.ok?r.json():{};}).then(function(d){(d.events||[]).forEach(function(e){if(!seen[e.id]){seen[e.id]=1;send(e.product,e.quantity);}});}).catch(function(){});}'
			. 'function attach(){var b=document.body;'
			. 'if(window.jQuery){jQuery(b).on("added_to_cart",drain);}'
			. 'b.addEventListener("wc-blocks_added_to_cart",drain);}'
			. 'if(document.body){attach();}else{document.addEventListener("DOMContentLoaded",attach);}'
			. '})();';
		wp_add_inline_script( self::HANDLE, $bridge, 'before' );
	}

	/**
	 * The reserved-space rules (assets/personalize.css, the build's copy of widgets/src/personalize.css).
	 *
	 * @return string
	 */
	public static function reserve_css() {
		$file = PERSONALIZE_DIR . 'assets/personalize.css';
		$css  = is_readable( $file ) ? (string) file_get_contents( $file ) : ''; // phpcs:ignore WordPress.WP.AlternativeFunctions.file_get_contents_file_get_contents -- a local file of the plugin.
		return wp_strip_all_tags( $css );
	}

	/**
	 * `wp_resource_hints`: a preconnect to the app's origin on pages that load our script from it, so the
	 * script's request (and the widget API's) does not wait for a fresh DNS + TLS handshake. Module scripts and the
	 * API's `credentials: "omit"` fetches use anonymous CORS connections, hence crossorigin.
	 *
	 * @param array  $urls          Hints so far.
	 * @param string $relation_type preconnect, dns-prefetch...
	 * @return array
	 */
	public static function resource_hints( $urls, $relation_type ) {
		if ( 'preconnect' !== $relation_type || ! Personalize_App::is_connected() ) {
			return $urls;
		}
		$config = Personalize_App::config();
		$origin = self::origin( isset( $config['script_url'] ) ? (string) $config['script_url'] : '' );
		if ( '' === $origin || self::origin( home_url( '/' ) ) === $origin ) {
			return $urls;
		}
		$urls[] = array(
			'href'        => $origin,
			'crossorigin' => 'anonymous',
		);
		return $urls;
	}

	/**
	 * scheme://host[:port] of a URL, or ''.
	 *
	 * @param string $url URL.
	 * @return string
	 */
	private static function origin( $url ) {
		$parts = wp_parse_url( $url );
		if ( empty( $parts['scheme'] ) || empty( $parts['host'] ) || ! in_array( $parts['scheme'], array( 'http', 'https' ), true ) ) {
			return '';
		}
		return $parts['scheme'] . '://' . $parts['host'] . ( isset( $parts['port'] ) ? ':' . (int) $parts['port'] : '' );
	}

	/**
	 * The attributes of our script tag.
	 *
	 * @param string $src Script URL.
	 * @return array
	 */
	public static function script_attributes( $src ) {
		$config   = Personalize_App::config();
		$customer = '';
		$sig      = '';
		$user_id  = get_current_user_id();
		if ( $user_id && ! empty( $config['customer_signing_key'] ) ) {
			// The app trusts a logged-in customer id only with its signature (made with a key pages never see).
			$customer = (string) $user_id;
			$sig      = hash_hmac( 'sha256', $customer, (string) hex2bin( (string) $config['customer_signing_key'] ) );
		}
		$product    = function_exists( 'is_product' ) && is_product() ? (string) get_the_ID() : '';
		$collection = function_exists( 'is_product_category' ) && is_product_category() ? (string) get_queried_object_id() : '';
		return array(
			'type'              => 'module',
			// A module script is fetched at high priority, which Lighthouse counts as render-blocking (a later first
			// paint in its simulation): low keeps it off the first paint's path; it still runs once parsed.
			'fetchpriority'     => 'low',
			'src'               => $src,
			'data-personalize'  => '',
			'data-api'          => isset( $config['api_url'] ) ? (string) $config['api_url'] : '',
			'data-key'          => isset( $config['public_key'] ) ? (string) $config['public_key'] : '',
			'data-shop'         => isset( $config['shop'] ) ? (string) $config['shop'] : '',
			'data-locale'       => str_replace( '_', '-', determine_locale() ),
			'data-currency'     => function_exists( 'get_woocommerce_currency' ) ? get_woocommerce_currency() : ( isset( $config['currency'] ) ? (string) $config['currency'] : '' ),
			'data-customer'     => $customer,
			'data-customer-sig' => $sig,
			'data-product'      => $product,
			'data-collection'   => $collection,
			// The popup chunk asks the app whether a campaign applies; "cart" lets cart-required campaigns decide.
			'data-popups'       => empty( $config['popups'] ) ? '' : '1',
			// Which campaigns could apply (schedule, cart, caps, first or returning visit): the script checks it
			// before loading the popup chunk or asking the app, so most pages load and ask nothing.
			'data-popup-gate'   => ( ! empty( $config['popups'] ) && isset( $config['popup_gate'] ) && is_array( $config['popup_gate'] ) ) ? wp_json_encode( $config['popup_gate'] ) : '',
			'data-cart'         => ( function_exists( 'WC' ) && WC()->cart && WC()->cart->get_cart_contents_count() > 0 ) ? '1' : '0',
			// Widget cards add to the cart, and the popup applies its code, with the Store API: it needs the store's nonce.
			'data-store-api'    => function_exists( 'rest_url' ) ? rest_url( 'wc/store/v1/' ) : '',
			'data-store-nonce'  => function_exists( 'wp_create_nonce' ) ? wp_create_nonce( 'wc_store_api' ) : '',
		);
	}

	/**
	 * Rebuild our enqueued tag: a module script with the shop's configuration in data-* attributes.
	 *
	 * @param string $tag    The markup WordPress built (inline "before" scripts, then ours).
	 * @param string $handle Script handle.
	 * @param string $src    Script URL.
	 * @return string
	 */
	public static function script_tag( $tag, $handle, $src = '' ) {
		if ( self::HANDLE !== $handle ) {
			return $tag;
		}
		$ours = strrpos( $tag, '<script' );
		if ( false === $ours ) {
			return $tag;
		}
		if ( '' === $src && preg_match( '/\ssrc=(["\'])(.*?)\1/', substr( $tag, $ours ), $m ) ) {
			$src = html_entity_decode( $m[2], ENT_QUOTES );
		}
		// Inline scripts printed before ours (the add-to-cart bridge) stay in front of it.
		return substr( $tag, 0, $ours ) . self::tag( self::script_attributes( $src ) );
	}

	/**
	 * A script element with escaped attributes (wp_get_script_tag where available).
	 *
	 * @param array $attributes Attributes.
	 * @return string
	 */
	public static function tag( $attributes ) {
		if ( function_exists( 'wp_get_script_tag' ) ) {
			return wp_get_script_tag( $attributes );
		}
		$html = '<script';
		foreach ( $attributes as $name => $value ) {
			$html .= ' ' . esc_attr( $name ) . '="' . ( 'src' === $name ? esc_url( $value ) : esc_attr( $value ) ) . '"';
		}
		return $html . "></script>\n";
	}

	/**
	 * One widget placeholder; the script fills it in (or leaves the reserved box empty).
	 *
	 * @param string $widget  also_bought | recently_viewed | bestsellers | for_you.
	 * @param array  $options product (id), collection (product category id), limit.
	 * @return string
	 */
	public static function placeholder( $widget, $options = array() ) {
		if ( ! isset( self::WIDGETS[ $widget ] ) ) {
			return '';
		}
		$product = isset( $options['product'] ) ? absint( $options['product'] ) : 0;
		if ( ! $product && function_exists( 'is_product' ) && is_product() ) {
			$product = (int) get_the_ID();
		}
		$limit = isset( $options['limit'] ) ? max( 1, min( 24, absint( $options['limit'] ) ) ) : 8;
		$html  = '<div class="personalize-widget" data-personalize-widget="' . esc_attr( $widget ) . '"';
		if ( $product ) {
			$html .= ' data-product="' . esc_attr( (string) $product ) . '"';
		}
		$collection = isset( $options['collection'] ) ? absint( $options['collection'] ) : 0;
		if ( $collection ) {
			$html .= ' data-collection="' . esc_attr( (string) $collection ) . '"';
		}
		$page = self::page_type();
		if ( $page ) {
			$html .= ' data-page="' . esc_attr( $page ) . '"';
		}
		return $html . ' data-limit="' . esc_attr( (string) $limit ) . '"></div>';
	}

	/**
	 * The page type the merchant's widget placement is checked against: product | collection | cart | home, or ''
	 * on any other page (the script then infers it from the page it runs on).
	 *
	 * @return string
	 */
	public static function page_type() {
		if ( function_exists( 'is_product' ) && is_product() ) {
			return 'product';
		}
		if ( function_exists( 'is_product_category' ) && is_product_category() ) {
			return 'collection';
		}
		if ( function_exists( 'is_cart' ) && is_cart() ) {
			return 'cart';
		}
		if ( function_exists( 'is_front_page' ) && is_front_page() ) {
			return 'home';
		}
		return '';
	}

	/**
	 * Product page: "customers also bought" and "continue shopping", after the summary.
	 */
	public static function product_widgets() {
		echo self::area( 'product' ); // phpcs:ignore WordPress.Security.EscapeOutput.OutputNotEscaped -- built from escaped parts.
	}

	/**
	 * Cart page: bestsellers.
	 */
	public static function cart_widgets() {
		echo self::area( 'cart' ); // phpcs:ignore WordPress.Security.EscapeOutput.OutputNotEscaped -- built from escaped parts.
	}

	/**
	 * The placeholders of one page area, the first time it is asked for on this page ('' after that).
	 *
	 * @param string $area product | cart | category.
	 * @param array  $options Passed to placeholder() (category: the term id).
	 * @return string
	 */
	public static function area( $area, $options = array() ) {
		static $done = array();
		if ( isset( $done[ $area ] ) || ! Personalize_App::is_connected() ) {
			return '';
		}
		$done[ $area ] = true;
		if ( 'product' === $area ) {
			return self::placeholder( 'also_bought' ) . self::placeholder( 'recently_viewed' );
		}
		return self::placeholder( 'bestsellers', $options );
	}

	/**
	 * Block themes: placeholders after the blocks that make up WooCommerce's product, cart and category templates.
	 * Outside the block's own markup, so the cart block's React tree never touches them.
	 *
	 * @param string $content The block's rendered HTML.
	 * @param array  $block   The parsed block (blockName, attrs).
	 * @return string
	 */
	public static function block_widgets( $content, $block ) {
		$name = is_array( $block ) && isset( $block['blockName'] ) ? (string) $block['blockName'] : '';
		if ( 'woocommerce/cart' === $name ) {
			return $content . self::area( 'cart' );
		}
		if ( 'woocommerce/product-details' === $name && function_exists( 'is_product' ) && is_product() ) {
			return $content . self::area( 'product' );
		}
		if ( 'woocommerce/product-collection' !== $name ) {
			return $content;
		}
		$attrs = isset( $block['attrs'] ) && is_array( $block['attrs'] ) ? $block['attrs'] : array();
		if ( function_exists( 'is_product' ) && is_product() && isset( $attrs['collection'] ) && 'woocommerce/product-collection/related' === $attrs['collection'] ) {
			// A product template without the details block: the widgets go before its related products.
			return self::area( 'product' ) . $content;
		}
		$inherits = isset( $attrs['query']['inherit'] ) && $attrs['query']['inherit'];
		if ( $inherits && function_exists( 'is_product_category' ) && is_product_category() ) {
			// No collection of its own: the script tag already names the category, so bestsellers leave out its grid.
			return $content . self::area( 'category' );
		}
		return $content;
	}

	/**
	 * Shortcodes [personalize_also_bought], [personalize_recently_viewed], [personalize_bestsellers],
	 * [personalize_for_you] and a
	 * server-rendered block per widget (blocks/<name>/block.json).
	 */
	public static function register_shortcodes_and_blocks() {
		foreach ( self::WIDGETS as $widget => $slug ) {
			add_shortcode(
				'personalize_' . $widget,
				function ( $atts ) use ( $widget ) {
					$atts = shortcode_atts( array( 'product' => '', 'limit' => '8' ), $atts, 'personalize_' . $widget );
					return self::placeholder( $widget, $atts );
				}
			);
			if ( function_exists( 'register_block_type' ) ) {
				register_block_type(
					PERSONALIZE_DIR . 'blocks/' . $slug,
					array(
						'render_callback' => function ( $attributes ) use ( $widget ) {
							return self::placeholder( $widget, is_array( $attributes ) ? $attributes : array() );
						},
					)
				);
			}
		}
	}

	/**
	 * A product added to the cart, by any path: queue it in the shopper's session until a page or the script
	 * collects it (print_add_to_cart_events, send_add_to_cart_events).
	 *
	 * @param string $cart_item_key Cart item key.
	 * @param int    $product_id    Product id.
	 * @param int    $quantity      Quantity.
	 * @param int    $variation_id  Variation id.
	 * @param array  $variation     Variation attributes.
	 * @param array  $cart_item_data Extra data.
	 */
	public static function remember_add_to_cart( $cart_item_key, $product_id, $quantity, $variation_id = 0, $variation = array(), $cart_item_data = array() ) {
		if ( ! function_exists( 'WC' ) || ! WC()->session || self::added_by_widget() ) {
			return;
		}
		$added   = (array) WC()->session->get( self::SESSION_ADDED, array() );
		$added[] = array(
			'id'       => substr( md5( uniqid( (string) $cart_item_key, true ) ), 0, 12 ),
			// The product the shopper chose; its variation would be one the storefront has no page for.
			'product'  => absint( $product_id ),
			'quantity' => max( 1, absint( $quantity ) ),
		);
		WC()->session->set( self::SESSION_ADDED, array_slice( $added, -10 ) );
	}

	/**
	 * Whether this request is a widget card's own Store API add: the script sends `X-Personalize-Widget` and records
	 * that add itself, with the widget that sold it. Queuing it here too would count it a second time, without the
	 * widget. A shopper who forges the header only hides their own add from the statistics.
	 *
	 * @return bool
	 */
	public static function added_by_widget() {
		$widget = isset( $_SERVER['HTTP_X_PERSONALIZE_WIDGET'] ) ? sanitize_key( wp_unslash( $_SERVER['HTTP_X_PERSONALIZE_WIDGET'] ) ) : ''; // phpcs:ignore WordPress.Security.ValidatedSanitizedInput.InputNotSanitized -- sanitize_key.
		return '' !== $widget;
	}

	/**
	 * The queued adds, emptied: each is handed out once.
	 *
	 * @return array
	 */
	public static function take_add_to_cart_events() {
		if ( ! Personalize_App::is_connected() || ! function_exists( 'WC' ) || ! WC()->session ) {
			return array();
		}
		$added = (array) WC()->session->get( self::SESSION_ADDED, array() );
		if ( $added ) {
			WC()->session->set( self::SESSION_ADDED, array() );
		}
		return $added;
	}

	/**
	 * `?wc-ajax=personalize_cart_events`: the queued adds as JSON, for the script after an in-page add.
	 */
	public static function send_add_to_cart_events() {
		$events = array();
		foreach ( self::take_add_to_cart_events() as $event ) {
			$events[] = array(
				'id'       => preg_replace( '/[^a-f0-9]/', '', (string) ( $event['id'] ?? '' ) ),
				'product'  => (string) absint( $event['product'] ?? 0 ),
				'quantity' => absint( $event['quantity'] ?? 1 ),
			);
		}
		nocache_headers();
		wp_send_json( array( 'events' => $events ) );
	}

	/**
	 * Where the script collects queued adds: WooCommerce's own lightweight AJAX endpoint (session loaded).
	 *
	 * @return string
	 */
	public static function events_url() {
		return add_query_arg( array( 'wc-ajax' => 'personalize_cart_events' ), home_url( '/' ) );
	}

	/**
	 * Markers the storefront script reads as added_to_cart events, once.
	 */
	public static function print_add_to_cart_events() {
		foreach ( self::take_add_to_cart_events() as $event ) {
			printf(
				'<div hidden data-personalize-event="added_to_cart" data-product="%s" data-quantity="%s"></div>',
				esc_attr( (string) absint( $event['product'] ?? 0 ) ),
				esc_attr( (string) absint( $event['quantity'] ?? 1 ) )
			);
		}
	}
}
