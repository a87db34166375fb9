import pytest

from bot.needs.pipeline import NeedExtractor
from bot.needs.train import is_stale, model_dir


@pytest.fixture(scope="session")
def extractor():
    """The shipped pipeline; `python -m bot needs train --if-stale` builds it (make test does)."""
    if is_stale():
        pytest.skip("need model missing or stale: run `python -m bot needs train`")
    return NeedExtractor(model_dir())
