"""The shopper's side: a demo storefront (aiohttp) and the embeddable chat widget.

``create_app`` in :mod:`bot.web.app` builds the storefront; :mod:`bot.web.channels` holds the
hardened Rasa input channels (origin allow-list, message size and rate limits) the widget talks to.
"""
