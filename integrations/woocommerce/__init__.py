"""WooCommerce: connect (auth.py, wc-auth), REST API v3 client (client.py), JSON → dataclasses (payloads.py),
resumable sync (sync.py, also the Platform protocol), webhooks (webhooks.py), merchant and plugin endpoints
(views.py), Celery tasks (tasks/), and the WordPress plugin (wordpress-plugin/personalize, zipped by
plugin_build.py). The local stand-in store lives in tests/standins/woocommerce."""
