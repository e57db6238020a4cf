"""Known crawlers and monitors announce themselves in the User-Agent; their page views are not shopper behaviour.

Headless browsers are not on the list on purpose: shoppers' privacy browsers and our own browser tests use them,
and a bot that hides its name is caught by the rate limits instead.
"""
from __future__ import annotations

import re

_BOT = re.compile(
    r"bot\b|bot/|crawl|spider|slurp|mediapartners|facebookexternalhit|embedly|quora link preview|"
    r"pinterest|bingpreview|lighthouse|pagespeed|gtmetrix|pingdom|uptime|monitor|curl/|wget/|"
    r"python-requests|python-urllib|httpx|go-http-client|java/|okhttp|axios|node-fetch|scrapy|phantomjs|"
    r"shopify-captain-hook|preview",
    re.IGNORECASE,
)


def is_bot(user_agent: str) -> bool:
    """True for a declared crawler/tool, and for no User-Agent at all (every browser sends one)."""
    return not user_agent or _BOT.search(user_agent) is not None
