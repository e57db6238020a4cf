<?php
/**
 * The settings page under WooCommerce: Connect button, connection status, app address, Disconnect.
 *
 * Only users who can manage WooCommerce see or change it; every form carries a nonce; every value printed is
 * escaped for where it goes.
 *
 * @package Personalize
 */

defined( 'ABSPATH' ) || exit;

/**
 * Admin screen.
 */
class Personalize_Settings {

	const PAGE       = 'personalize';
	const CAPABILITY = 'manage_woocommerce';

	/**
	 * Hook into the admin.
	 */
	public static function init() {
		add_action( 'admin_menu', array( __CLASS__, 'menu' ) );
		add_action( 'admin_init', array( __CLASS__, 'register_settings' ) );
		add_action( 'admin_post_personalize_refresh', array( __CLASS__, 'handle_refresh' ) );
		add_action( 'admin_post_personalize_disconnect', array( __CLASS__, 'handle_disconnect' ) );
		add_filter( 'plugin_action_links_' . plugin_basename( PERSONALIZE_FILE ), array( __CLASS__, 'action_links' ) );
	}

	/**
	 * WooCommerce > Personalize.
	 */
	public static function menu() {
		add_submenu_page(
			'woocommerce',
			__( 'Personalize', 'personalize' ),
			__( 'Personalize', 'personalize' ),
			self::CAPABILITY,
			self::PAGE,
			array( __CLASS__, 'render' )
		);
	}

	/**
	 * A "Settings" link on the Plugins screen.
	 *
	 * @param array $links Existing links.
	 * @return array
	 */
	public static function action_links( $links ) {
		$url = admin_url( 'admin.php?page=' . self::PAGE );
		array_unshift( $links, '<a href="' . esc_url( $url ) . '">' . esc_html__( 'Settings', 'personalize' ) . '</a>' );
		return $links;
	}

	/**
	 * The two plain options go through the Settings API (which checks its own nonce and capability).
	 */
	public static function register_settings() {
		register_setting(
			'personalize',
			Personalize_App::OPTION_APP_URL,
			array(
				'type'              => 'string',
				'sanitize_callback' => array( __CLASS__, 'sanitize_app_url' ),
				'default'           => '',
			)
		);
		register_setting(
			'personalize',
			Personalize_App::OPTION_ERASE,
			array(
				'type'              => 'boolean',
				'sanitize_callback' => 'rest_sanitize_boolean',
				'default'           => false,
			)
		);
	}

	/**
	 * Only an http(s) URL; anything else falls back to the default.
	 *
	 * @param mixed $value Submitted value.
	 * @return string
	 */
	public static function sanitize_app_url( $value ) {
		$url = esc_url_raw( trim( (string) $value ), array( 'https', 'http' ) );
		return $url ? untrailingslashit( $url ) : '';
	}

	/**
	 * Fetch the configuration from the app after connecting (the button the merchant presses on return).
	 */
	public static function handle_refresh() {
		if ( ! current_user_can( self::CAPABILITY ) ) {
			wp_die( esc_html__( 'You are not allowed to do this.', 'personalize' ), 403 );
		}
		check_admin_referer( 'personalize_refresh' );
		$result = Personalize_App::refresh_config();
		self::back( is_wp_error( $result ) ? 'refresh_failed' : 'refreshed' );
	}

	/**
	 * Disconnect from the app, optionally asking it to delete the store's data.
	 */
	public static function handle_disconnect() {
		if ( ! current_user_can( self::CAPABILITY ) ) {
			wp_die( esc_html__( 'You are not allowed to do this.', 'personalize' ), 403 );
		}
		check_admin_referer( 'personalize_disconnect' );
		$erase  = isset( $_POST['erase_data'] ) && '1' === sanitize_text_field( wp_unslash( $_POST['erase_data'] ) );
		$result = Personalize_App::disconnect( $erase );
		self::back( is_wp_error( $result ) ? 'disconnect_failed' : 'disconnected' );
	}

	/**
	 * Back to the settings page with a notice code.
	 *
	 * @param string $notice Notice code.
	 */
	private static function back( $notice ) {
		wp_safe_redirect( add_query_arg( array( 'page' => self::PAGE, 'personalize_notice' => $notice ), admin_url( 'admin.php' ) ) );
		exit;
	}

	/**
	 * The page.
	 */
	public static function render() {
		if ( ! current_user_can( self::CAPABILITY ) ) {
			wp_die( esc_html__( 'You are not allowed to see this page.', 'personalize' ), 403 );
		}
		$config  = Personalize_App::config();
		$notices = array(
			'refreshed'         => __( 'Connection status updated.', 'personalize' ),
			'refresh_failed'    => __( 'The app did not confirm the connection. Connect the store first.', 'personalize' ),
			'disconnected'      => __( 'The store is disconnected.', 'personalize' ),
			'disconnect_failed' => __( 'The app could not be reached; the store was disconnected here.', 'personalize' ),
		);
		// Only a fixed list of codes is ever shown; the value is compared, never printed.
		$notice = isset( $_GET['personalize_notice'] ) ? sanitize_key( wp_unslash( $_GET['personalize_notice'] ) ) : ''; // phpcs:ignore WordPress.Security.NonceVerification.Recommended
		?>
		<div class="wrap">
			<h1><?php echo esc_html__( 'Personalize', 'personalize' ); ?></h1>
			<?php if ( isset( $notices[ $notice ] ) ) : ?>
				<div class="notice notice-info is-dismissible"><p><?php echo esc_html( $notices[ $notice ] ); ?></p></div>
			<?php endif; ?>

			<h2><?php echo esc_html__( 'Connection', 'personalize' ); ?></h2>
			<?php if ( Personalize_App::is_connected() ) : ?>
				<p>
					<?php
					/* translators: %s: the store as the app knows it */
					printf( esc_html__( 'Connected as %s.', 'personalize' ), '<strong>' . esc_html( (string) $config['shop'] ) . '</strong>' );
					?>
				</p>
				<form method="post" action="<?php echo esc_url( admin_url( 'admin-post.php' ) ); ?>">
					<input type="hidden" name="action" value="personalize_disconnect">
					<?php wp_nonce_field( 'personalize_disconnect' ); ?>
					<label><input type="checkbox" name="erase_data" value="1"> <?php echo esc_html__( 'Also ask the app to delete all data it imported from this store', 'personalize' ); ?></label>
					<?php submit_button( __( 'Disconnect', 'personalize' ), 'secondary' ); ?>
				</form>
			<?php else : ?>
				<p><?php echo esc_html__( 'Not connected. Connecting asks you to approve read and write access for the Personalize app.', 'personalize' ); ?></p>
				<p><a class="button button-primary" href="<?php echo esc_url( Personalize_App::connect_url() ); ?>"><?php echo esc_html__( 'Connect', 'personalize' ); ?></a></p>
			<?php endif; ?>
			<form method="post" action="<?php echo esc_url( admin_url( 'admin-post.php' ) ); ?>">
				<input type="hidden" name="action" value="personalize_refresh">
				<?php wp_nonce_field( 'personalize_refresh' ); ?>
				<?php submit_button( __( 'Check connection', 'personalize' ), 'secondary', 'submit', false ); ?>
			</form>

			<h2><?php echo esc_html__( 'Settings', 'personalize' ); ?></h2>
			<form method="post" action="<?php echo esc_url( admin_url( 'options.php' ) ); ?>">
				<?php settings_fields( 'personalize' ); ?>
				<table class="form-table" role="presentation">
					<tr>
						<th scope="row"><label for="personalize_app_url"><?php echo esc_html__( 'App address', 'personalize' ); ?></label></th>
						<td><input type="url" class="regular-text" id="personalize_app_url" name="<?php echo esc_attr( Personalize_App::OPTION_APP_URL ); ?>" value="<?php echo esc_attr( (string) get_option( Personalize_App::OPTION_APP_URL, '' ) ); ?>" placeholder="<?php echo esc_attr( PERSONALIZE_DEFAULT_APP_URL ); ?>"></td>
					</tr>
					<tr>
						<th scope="row"><?php echo esc_html__( 'On deactivation', 'personalize' ); ?></th>
						<td><label><input type="checkbox" name="<?php echo esc_attr( Personalize_App::OPTION_ERASE ); ?>" value="1" <?php checked( (bool) get_option( Personalize_App::OPTION_ERASE, false ) ); ?>> <?php echo esc_html__( 'Ask the app to delete this store\'s data', 'personalize' ); ?></label></td>
					</tr>
				</table>
				<?php submit_button(); ?>
			</form>
		</div>
		<?php
	}
}
