/* Registers the Personalize blocks in the editor; each renders on the server (see block.json and
 * Personalize_Storefront::register_shortcodes_and_blocks), so the editor shows the same placeholder. */
( function ( wp ) {
	if ( ! wp || ! wp.blocks || ! wp.element ) {
		return;
	}
	var el = wp.element.createElement;
	var ServerSideRender = wp.serverSideRender;
	var blockProps = wp.blockEditor && wp.blockEditor.useBlockProps;
	[ 'personalize/also-bought', 'personalize/recently-viewed', 'personalize/bestsellers' ].forEach( function ( name ) {
		if ( wp.blocks.getBlockType( name ) ) {
			return;
		}
		wp.blocks.registerBlockType( name, {
			edit: function ( props ) {
				var inner = ServerSideRender
					? el( ServerSideRender, { block: name, attributes: props.attributes } )
					: el( 'p', null, name );
				return el( 'div', blockProps ? blockProps() : {}, inner );
			},
			save: function () {
				return null;
			},
		} );
	} );
} )( window.wp );
