"""App keys (aiohttp 3.9 has no web.AppKey)."""
CONFIG = "shop_web_config"
SERVICES = "shop_web_services"
TEMPLATES = "shop_web_templates"
ASSETS = "shop_web_assets"
# The Rasa tracker store's read-only engine (bot.console), built once per app, disposed at stop.
TRACKER = "shop_tracker_engine"
RASA_API = "shop_rasa_api"  # bot.console.delivery.RasaApi: the console's calls to Rasa
