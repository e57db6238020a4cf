<?php
/**
 * Deleting the plugin removes its options (deactivation already disconnected the store).
 *
 * @package Personalize
 */

defined( 'WP_UNINSTALL_PLUGIN' ) || exit;

delete_option( 'personalize_app_url' );
delete_option( 'personalize_config' );
delete_option( 'personalize_erase_on_deactivate' );
delete_option( 'personalize_config_at' );
