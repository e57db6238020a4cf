<?php
/**
 * What shoppers get: the Personalize storefront script (once per page, with the shop's public key, locale and
 * currency), widget placeholders on product and cart pages, a shortcode and a block per widget, and add-to-cart
 * events for the script to record.
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
	);
	const SESSION_ADDED = 'personalize_added_to_cart';

	/**
	 * Hook into the storefront.
	 */
	public static function init() {
		add_action( 'wp_enqueue_scripts', array( __CLASS__, 'enqueue' ) );
		add_filter( 'script_loader_tag', array( __CLASS__, 'script_tag' ), 10, 3 );
		add_action( 'woocommerce_after_single_product_summary', array( __CLASS__, 'product_widgets' ), 25 );
		add_action( 'woocommerce_after_cart', array( __CLASS__, 'cart_widgets' ) );
		add_action( 'woocommerce_add_to_cart', array( __CLASS__, 'remember_add_to_cart' ), 10, 6 );
		add_action( 'wp_footer', array( __CLASS__, 'print_add_to_cart_events' ) );
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
		$css = preg_replace( '/\.js$/', '.css', (string) $config['script_url'] );
		wp_enqueue_style( self::HANDLE, esc_url_raw( $css ), array(), null ); // phpcs:ignore WordPress.WP.EnqueuedResourceParameters.MissingVersion
		// WooCommerce's AJAX add to cart (shop and category pages, a jQuery event) and the cart block's Store API
		// adds (a DOM event) become one "personalize:added_to_cart" event. This runs in <head>, before <body>
		// and before WooCommerce's footer scripts exist: listeners attach once the document is parsed.
		$bridge = '(function(){'
			. 'function send(p,q){if(p){document.dispatchEvent(new CustomEvent("personalize:added_to_cart",{detail:{product:String(p),quantity:Number(q||1)}}));}}'
			. 'function attach(){var b=document.body;'
			. 'if(window.jQuery){jQuery(b).on("added_to_cart",function(e,f,h,btn){var d=btn&&btn.data?btn:null;send(d&&d.data("product_id"),d&&d.data("quantity"));});}'
			. 'b.addEventListener("wc-blocks_added_to_cart",function(e){var d=e.detail||{};send(d.productId,d.quantity);});}'
			. 'if(document.body){attach();}else{document.addEventListener("DOMContentLoaded",attach);}'
			. '})();';
		wp_add_inline_script( self::HANDLE, $bridge, 'before' );
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
			'data-cart'         => ( function_exists( 'WC' ) && WC()->cart && WC()->cart->get_cart_contents_count() > 0 ) ? '1' : '0',
			// The popup applies its code to the cart with the Store API, which needs the store's own nonce.
			'data-store-api'    => ( ! empty( $config['popups'] ) && function_exists( 'rest_url' ) ) ? rest_url( 'wc/store/v1/' ) : '',
			'data-store-nonce'  => ( ! empty( $config['popups'] ) && function_exists( 'wp_create_nonce' ) ) ? wp_create_nonce( 'wc_store_api' ) : '',
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
	 * @param string $widget  also_bought | recently_viewed | bestsellers.
	 * @param array  $options product (id), limit.
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
		return $html . ' data-limit="' . esc_attr( (string) $limit ) . '"></div>';
	}

	/**
	 * Product page: "customers also bought" and "continue shopping", after the summary.
	 */
	public static function product_widgets() {
		if ( ! Personalize_App::is_connected() ) {
			return;
		}
		echo self::placeholder( 'also_bought' ) . self::placeholder( 'recently_viewed' ); // phpcs:ignore WordPress.Security.EscapeOutput.OutputNotEscaped -- built from escaped parts.
	}

	/**
	 * Cart page: bestsellers.
	 */
	public static function cart_widgets() {
		if ( ! Personalize_App::is_connected() ) {
			return;
		}
		echo self::placeholder( 'bestsellers' ); // phpcs:ignore WordPress.Security.EscapeOutput.OutputNotEscaped -- built from escaped parts.
	}

	/**
	 * Shortcodes [personalize_also_bought], [personalize_recently_viewed], [personalize_bestsellers] and a
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
	 * A product added to the cart on a full page load: remember it for the next page the shopper sees.
	 * AJAX and Store API adds are reported in the browser instead (see enqueue()), so they are not counted twice.
	 *
	 * @param string $cart_item_key Cart item key.
	 * @param int    $product_id    Product id.
	 * @param int    $quantity      Quantity.
	 * @param int    $variation_id  Variation id.
	 * @param array  $variation     Variation attributes.
	 * @param array  $cart_item_data Extra data.
	 */
	public static function remember_add_to_cart( $cart_item_key, $product_id, $quantity, $variation_id = 0, $variation = array(), $cart_item_data = array() ) {
		if ( wp_doing_ajax() || ( defined( 'REST_REQUEST' ) && REST_REQUEST ) || ! function_exists( 'WC' ) || ! WC()->session ) {
			return;
		}
		$added   = (array) WC()->session->get( self::SESSION_ADDED, array() );
		$added[] = array(
			'product'  => absint( $product_id ),
			'quantity' => absint( $quantity ),
		);
		WC()->session->set( self::SESSION_ADDED, array_slice( $added, -10 ) );
	}

	/**
	 * Markers the storefront script reads as added_to_cart events, once.
	 */
	public static function print_add_to_cart_events() {
		if ( ! Personalize_App::is_connected() || ! function_exists( 'WC' ) || ! WC()->session ) {
			return;
		}
		$added = (array) WC()->session->get( self::SESSION_ADDED, array() );
		if ( ! $added ) {
			return;
		}
		WC()->session->set( self::SESSION_ADDED, array() );
		foreach ( $added as $event ) {
			printf(
				'<div hidden data-personalize-event="added_to_cart" data-product="%s" data-quantity="%s"></div>',
				esc_attr( (string) absint( $event['product'] ?? 0 ) ),
				esc_attr( (string) absint( $event['quantity'] ?? 1 ) )
			);
		}
	}
}
