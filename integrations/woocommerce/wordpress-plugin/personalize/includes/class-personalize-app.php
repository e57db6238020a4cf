<?php
/**
 * Talking to the Personalize app: the connect link, and signed requests for the shop's configuration and for
 * disconnecting.
 *
 * The configuration is cached for PERSONALIZE_CONFIG_TTL seconds (a minute): the first page view after that serves
 * the cached copy and refreshes it once the response is finished, one request at a time, so a campaign started in
 * the app reaches the storefront within about a minute with nobody pressing "Check connection".
 *
 * Keys: wc-auth adds a read/write REST key on every connection. The app tells us which one it uses (key_id); the
 * others of ours are deleted after each refresh, so a reconnect never leaves two live keys. Disconnecting deletes
 * ours outright, after the app has used it one last time to remove its webhooks and unused coupons.
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
	const OPTION_CONFIG_AT = 'personalize_config_at';
	const REFRESH_LOCK   = 'personalize_refreshing';
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
		$config = self::stored_config();
		self::refresh_when_stale();
		return $config;
	}

	/**
	 * The cached configuration as stored, without scheduling a refresh.
	 *
	 * @return array
	 */
	private static function stored_config() {
		$config = get_option( self::OPTION_CONFIG, array() );
		return is_array( $config ) ? $config : array();
	}

	/**
	 * Once per request: when the cached configuration is older than the TTL, refresh it after the response.
	 */
	private static function refresh_when_stale() {
		static $checked = false;
		if ( $checked ) {
			return;
		}
		$checked = true;
		if ( time() - (int) get_option( self::OPTION_CONFIG_AT, 0 ) < PERSONALIZE_CONFIG_TTL || get_transient( self::REFRESH_LOCK ) ) {
			return;
		}
		// One refresh at a time across the site's concurrent requests.
		set_transient( self::REFRESH_LOCK, 1, 30 );
		add_action( 'shutdown', array( __CLASS__, 'refresh_in_background' ), 1000 );
	}

	/**
	 * Runs on `shutdown`: the shopper's response is finished first where PHP-FPM allows it.
	 */
	public static function refresh_in_background() {
		if ( function_exists( 'fastcgi_finish_request' ) ) {
			fastcgi_finish_request();
		}
		self::refresh_config( 3 );
		delete_transient( self::REFRESH_LOCK );
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
		$keys = self::our_keys();
		return $keys ? (string) $keys[0]['consumer_secret'] : '';
	}

	/**
	 * The REST keys wc-auth created for the app on this store, newest first.
	 *
	 * @return array Rows with key_id and consumer_secret.
	 */
	private static function our_keys() {
		global $wpdb;
		$rows = $wpdb->get_results(
			$wpdb->prepare(
				"SELECT key_id, consumer_secret FROM {$wpdb->prefix}woocommerce_api_keys WHERE description LIKE %s ORDER BY key_id DESC",
				$wpdb->esc_like( self::KEY_DESCRIPTION_PREFIX ) . '%'
			),
			ARRAY_A
		);
		return is_array( $rows ) ? $rows : array();
	}

	/**
	 * Delete our REST keys, all of them or all but the one the app uses.
	 *
	 * @param int $keep  key_id to keep (0: none).
	 * @param int $up_to Only keys up to this key_id (a key made after it may be a connection under way).
	 * @return int How many were deleted.
	 */
	private static function delete_keys( $keep = 0, $up_to = PHP_INT_MAX ) {
		global $wpdb;
		$deleted = 0;
		foreach ( self::our_keys() as $row ) {
			if ( (int) $row['key_id'] !== (int) $keep && (int) $row['key_id'] <= $up_to ) {
				$deleted += (int) $wpdb->delete( $wpdb->prefix . 'woocommerce_api_keys', array( 'key_id' => (int) $row['key_id'] ), array( '%d' ) );
			}
		}
		return $deleted;
	}

	/**
	 * POST a signed JSON body to the app.
	 *
	 * @param string $path    Path under the app URL.
	 * @param array  $extra   Fields besides store_url and timestamp.
	 * @param int    $timeout Seconds to wait for the app.
	 * @return array|WP_Error Decoded JSON answer.
	 */
	private static function signed_post( $path, $extra = array(), $timeout = 10 ) {
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
				'timeout' => $timeout,
				'headers' => array(
					'Content-Type'            => 'application/json',
					// The store first, so the app checks the signature before it parses the body.
					'X-Personalize-Store'     => home_url(),
					'X-Personalize-Signature' => base64_encode( hash_hmac( 'sha256', $body, $secret, true ) ), // phpcs:ignore WordPress.PHP.DiscouragedPHPFunctions.obfuscation_base64_encode -- a signature, not obfuscation.
				),
				'body'    => $body,
			)
		);
		if ( is_wp_error( $response ) ) {
			return $response;
		}
		$data = json_decode( wp_remote_retrieve_body( $response ), true );
		if ( 410 === (int) wp_remote_retrieve_response_code( $response ) ) {
			return new WP_Error( 'personalize_disconnected' );
		}
		if ( 200 !== (int) wp_remote_retrieve_response_code( $response ) || ! is_array( $data ) ) {
			$reason = is_array( $data ) && isset( $data['reason'] ) ? (string) $data['reason'] : '';
			return new WP_Error( 'personalize_refused', $reason );
		}
		return $data;
	}

	/**
	 * Ask the app for this store's configuration and cache it; then delete our keys the app no longer uses.
	 *
	 * @param int $timeout Seconds to wait for the app.
	 * @return true|WP_Error
	 */
	public static function refresh_config( $timeout = 10 ) {
		// Tried or not, the next attempt waits a TTL: an unreachable app must not be asked on every page view.
		// Autoloaded, like the config itself: every storefront page reads both.
		update_option( self::OPTION_CONFIG_AT, time(), true );
		$data = self::signed_post( '/woocommerce/plugin/config', array(), $timeout );
		if ( is_wp_error( $data ) && 'personalize_disconnected' === $data->get_error_code() ) {
			// Disconnected from the app's side (it cannot delete a key itself): stop the storefront output and
			// delete the keys it used, never a newer one (wc-auth may be making it for a reconnect right now).
			$config = self::stored_config();
			if ( ! empty( $config['key_id'] ) ) {
				self::delete_keys( 0, (int) $config['key_id'] );
			}
			delete_option( self::OPTION_CONFIG );
			return $data;
		}
		if ( is_wp_error( $data ) ) {
			return $data;
		}
		$allowed = array( 'connected', 'shop', 'public_key', 'locale', 'currency', 'script_url', 'api_url', 'customer_signing_key', 'popups', 'popup_gate', 'key_id' );
		$config  = array_intersect_key( $data, array_flip( $allowed ) );
		update_option( self::OPTION_CONFIG, $config, true );
		if ( ! empty( $config['connected'] ) && ! empty( $config['key_id'] ) ) {
			// A reconnect made a new key; the ones it replaced must not stay live. Only older ones: a key newer than
			// the one the app names may be a reconnect in progress that the app has not switched to yet.
			self::delete_keys( (int) $config['key_id'], (int) $config['key_id'] );
		}
		return true;
	}

	/**
	 * Tell the app to forget this store (and, when asked, to delete its data), then forget the app.
	 *
	 * @param bool $erase_data Whether the app must delete everything it holds about the store.
	 * @return true|WP_Error
	 */
	public static function disconnect( $erase_data = false ) {
		// The app removes its webhooks and unused coupons with the key while it still works; then the key goes,
		// whether or not the app answered: a disconnected store keeps no read/write key for it.
		$result = self::signed_post( '/woocommerce/plugin/disconnect', array( 'erase_data' => (bool) $erase_data ) );
		self::delete_keys();
		delete_option( self::OPTION_CONFIG );
		delete_option( self::OPTION_CONFIG_AT );
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
