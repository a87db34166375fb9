"""Our Rasa NLU training data as code: the template generator and the dev-split guard.

``generate`` builds ``nlu_data/generated/support.yml`` from ``templates.yml`` (``python -m bot nlu
generate``); ``overlap`` normalises sentences so tests can prove no measuring sentence (the dev
split) is in the training data.
"""
