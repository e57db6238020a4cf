<?php
/**
 * Plugin Name:       Personalize for WooCommerce
 * Plugin URI:        https://personalize.example/woocommerce
 * Description:       Recommendations ("customers also bought", "continue shopping", bestsellers) and shopper events for WooCommerce stores, powered by the Personalize app.
 * Version:           1.1.0
 * Requires at least: 6.3
 * Requires PHP:      7.4
 * Author:            Personalize
 * License:           GPL-2.0-or-later
 * License URI:       https://www.gnu.org/licenses/gpl-2.0.html
 * Text Domain:       personalize
 * Domain Path:       /languages
 * Requires Plugins:  woocommerce
 * WC requires at least: 8.0
 * WC tested up to:   11.0
 *
 * @package Personalize
 */

defined( 'ABSPATH' ) || exit;

define( 'PERSONALIZE_VERSION', '1.1.0' );
define( 'PERSONALIZE_FILE', __FILE__ );
define( 'PERSONALIZE_DIR', plugin_dir_path( __FILE__ ) );
// The app's public address; a self-hosted app (or the local demo) sets its own in the settings page.
if ( ! defined( 'PERSONALIZE_DEFAULT_APP_URL' ) ) {
	define( 'PERSONALIZE_DEFAULT_APP_URL', 'https://app.personalize.example' );
}

// How long the app's configuration is cached before the plugin asks again (a new campaign shows within it).
if ( ! defined( 'PERSONALIZE_CONFIG_TTL' ) ) {
	define( 'PERSONALIZE_CONFIG_TTL', 60 );
}

require_once PERSONALIZE_DIR . 'includes/class-personalize-app.php';
require_once PERSONALIZE_DIR . 'includes/class-personalize-settings.php';
require_once PERSONALIZE_DIR . 'includes/class-personalize-storefront.php';

Personalize_Settings::init();
Personalize_Storefront::init();

register_deactivation_hook( __FILE__, array( 'Personalize_App', 'on_deactivate' ) );
add_filter( 'wp_privacy_personal_data_erasers', array( 'Personalize_App', 'register_eraser' ) );

// Declare compatibility with WooCommerce's order tables (we only read orders through the REST API).
add_action(
	'before_woocommerce_init',
	function () {
		if ( class_exists( '\Automattic\WooCommerce\Utilities\FeaturesUtil' ) ) {
			\Automattic\WooCommerce\Utilities\FeaturesUtil::declare_compatibility( 'custom_order_tables', PERSONALIZE_FILE, true );
			\Automattic\WooCommerce\Utilities\FeaturesUtil::declare_compatibility( 'cart_checkout_blocks', PERSONALIZE_FILE, true );
		}
	}
);
