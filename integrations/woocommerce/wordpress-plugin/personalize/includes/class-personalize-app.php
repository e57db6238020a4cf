<?php
/**
 * Talking to the Personalize app: the connect link, and signed requests for the shop's configuration and for
 * disconnecting.
 *
 * Requests are signed like WooCommerce signs webhooks: base64 HMAC-SHA256 of the raw JSON body, keyed with the
 * consumer secret of the REST API key the app received when the merchant approved the connection. WooCommerce
 * keeps that secret in its woocommerce_api_keys table, so no other secret has to travel through a browser.
 *
 * @package Personalize
 */

defined( 'ABSPATH' ) || exit;

/**
 * The app's side of the plugin.
 */
class Personalize_App {

	const OPTION_APP_URL = 'personalize_app_url';
	const OPTION_CONFIG  = 'personalize_config';
	const OPTION_ERASE   = 'personalize_erase_on_deactivate';
	// wc-auth names the key "<app_name> - API (<date>)"; the app connects as "Personalize".
	const KEY_DESCRIPTION_PREFIX = 'Personalize - API';

	/**
	 * The app's base URL, without a trailing slash.
	 *
	 * @return string
	 */
	public static function app_url() {
		$url = get_option( self::OPTION_APP_URL, '' );
		if ( ! is_string( $url ) || '' === $url ) {
			$url = PERSONALIZE_DEFAULT_APP_URL;
		}
		return untrailingslashit( esc_url_raw( $url ) );
	}

	/**
	 * Where the Connect button sends the merchant: the app's connect form, with this store's address filled in.
	 *
	 * @return string
	 */
	public static function connect_url() {
		return add_query_arg( array( 'store_url' => rawurlencode( home_url() ) ), self::app_url() . '/woocommerce/connect' );
	}

	/**
	 * The cached configuration the app returned (public key, locale, currency, script URL...).
	 *
	 * @return array
	 */
	public static function config() {
		$config = get_option( self::OPTION_CONFIG, array() );
		return is_array( $config ) ? $config : array();
	}

	/**
	 * True when the app has told us this store is connected.
	 *
	 * @return bool
	 */
	public static function is_connected() {
		$config = self::config();
		return ! empty( $config['connected'] ) && ! empty( $config['public_key'] );
	}

	/**
	 * The consumer secret of the newest key the app received, or '' when there is none (never connected, or the
	 * merchant revoked it in WooCommerce > Settings > Advanced > REST API).
	 *
	 * @return string
	 */
	private static function consumer_secret() {
		global $wpdb;
		$secret = $wpdb->get_var(
			$wpdb->prepare(
				"SELECT consumer_secret FROM {$wpdb->prefix}woocommerce_api_keys WHERE description LIKE %s ORDER BY key_id DESC LIMIT 1",
				$wpdb->esc_like( self::KEY_DESCRIPTION_PREFIX ) . '%'
			)
		);
		return is_string( $secret ) ? $secret : '';
	}

	/**
	 * POST a signed JSON body to the app.
	 *
	 * @param string $path  Path under the app URL.
	 * @param array  $extra Fields besides store_url and timestamp.
	 * @return array|WP_Error Decoded JSON answer.
	 */
	private static function signed_post( $path, $extra = array() ) {
		$secret = self::consumer_secret();
		if ( '' === $secret ) {
			return new WP_Error( 'personalize_not_connected', __( 'This store has no Personalize API key.', 'personalize' ) );
		}
		$body     = wp_json_encode(
			array_merge(
				array(
					'store_url' => home_url(),
					'timestamp' => time(),
				),
				$extra
			)
		);
		$response = wp_remote_post(
			self::app_url() . $path,
			array(
				'timeout' => 10,
				'headers' => array(
					'Content-Type'             => 'application/json',
					'X-Personalize-Signature' => base64_encode( hash_hmac( 'sha256', $body, $secret, true ) ), // phpcs:ignore WordPress.PHP.DiscouragedPHPFunctions.obfuscation_base64_encode -- a signature, not obfuscation.
				),
				'body'    => $body,
			)
		);
		if ( is_wp_error( $response ) ) {
			return $response;
		}
		$data = json_decode( wp_remote_retrieve_body( $response ), true );
		if ( 200 !== (int) wp_remote_retrieve_response_code( $response ) || ! is_array( $data ) ) {
			$reason = is_array( $data ) && isset( $data['reason'] ) ? (string) $data['reason'] : '';
			return new WP_Error( 'personalize_refused', $reason );
		}
		return $data;
	}

	/**
	 * Ask the app for this store's configuration and cache it.
	 *
	 * @return true|WP_Error
	 */
	public static function refresh_config() {
		$data = self::signed_post( '/woocommerce/plugin/config' );
		if ( is_wp_error( $data ) ) {
			return $data;
		}
		$allowed = array( 'connected', 'shop', 'public_key', 'locale', 'currency', 'script_url', 'api_url', 'customer_signing_key', 'popups' );
		update_option( self::OPTION_CONFIG, array_intersect_key( $data, array_flip( $allowed ) ), false );
		return true;
	}

	/**
	 * Tell the app to forget this store (and, when asked, to delete its data), then forget the app.
	 *
	 * @param bool $erase_data Whether the app must delete everything it holds about the store.
	 * @return true|WP_Error
	 */
	public static function disconnect( $erase_data = false ) {
		$result = self::signed_post( '/woocommerce/plugin/disconnect', array( 'erase_data' => (bool) $erase_data ) );
		delete_option( self::OPTION_CONFIG );
		return is_wp_error( $result ) ? $result : true;
	}

	/**
	 * WordPress's personal data eraser (Tools > Erase Personal Data): the app removes the customer's data too.
	 *
	 * @param string $email Email of the person whose data is erased.
	 * @param int    $page  Batch number (one batch is enough: the app erases everything at once).
	 * @return array
	 */
	public static function erase_personal_data( $email, $page = 1 ) {
		$user   = get_user_by( 'email', $email );
		$result = self::signed_post(
			'/woocommerce/plugin/redact-customer',
			array(
				'email'       => (string) $email,
				'customer_id' => $user ? (string) $user->ID : '',
			)
		);
		$ok     = ! is_wp_error( $result );
		return array(
			'items_removed'  => $ok,
			'items_retained' => false,
			'messages'       => $ok ? array() : array( __( 'The Personalize app could not be reached; run the erasure again.', 'personalize' ) ),
			'done'           => true,
		);
	}

	/**
	 * Register the eraser with WordPress's privacy tools.
	 *
	 * @param array $erasers Registered erasers.
	 * @return array
	 */
	public static function register_eraser( $erasers ) {
		$erasers['personalize'] = array(
			'eraser_friendly_name' => __( 'Personalize recommendations', 'personalize' ),
			'callback'             => array( __CLASS__, 'erase_personal_data' ),
		);
		return $erasers;
	}

	/**
	 * Deactivating the plugin disconnects the store.
	 */
	public static function on_deactivate() {
		self::disconnect( (bool) get_option( self::OPTION_ERASE, false ) );
	}
}
