"""The cached action-response validator accepts and refuses exactly what Rasa's own does."""
import pytest
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction

import bot.web.channels  # noqa: F401 - importing the channels applies the patch, as in Rasa
from bot.web import rasa_patches

VALID = [
    {"events": [], "responses": []},
    {"events": [{"event": "slot", "name": "order_number", "value": "SH-100003"}],
     "responses": [{"text": "Your order is on its way."}]},
    {"events": [{"event": "active_loop", "name": None},
                {"event": "followup", "name": "action_listen"}]},
    {},
]
INVALID = [
    {"events": [{"event": "no_such_event"}]},
    {"events": {"event": "slot"}},
    {"events": [{"event": "slot"}]},  # a slot event without its name
    {"responses": ["just a string"]},
    "not an object",
]


def _action() -> RemoteAction:
    return RemoteAction("action_handle_order_request", None)


def test_channels_import_installs_the_cached_validator():
    assert getattr(RemoteAction._validate_action_result, rasa_patches._MARK, False)
    assert rasa_patches.apply() is True  # a second call changes nothing
    assert not hasattr(RemoteAction._validate_action_result.original, rasa_patches._MARK)


@pytest.mark.parametrize("result", VALID)
def test_valid_responses_pass_both_validators(result):
    original = RemoteAction._validate_action_result.original
    assert original(_action(), result) is True
    assert _action()._validate_action_result(result) is True


@pytest.mark.parametrize("result", INVALID)
def test_invalid_responses_fail_both_validators_with_rasas_message(result):
    original = RemoteAction._validate_action_result.original
    with pytest.raises(ValidationError) as theirs:
        original(_action(), result)
    with pytest.raises(ValidationError) as ours:
        _action()._validate_action_result(result)
    assert ours.value.message == theirs.value.message
    assert "Failed to validate Action server response" in ours.value.message


def test_other_rasa_versions_are_left_alone(monkeypatch):
    import rasa

    patched = RemoteAction._validate_action_result
    monkeypatch.setattr(RemoteAction, "_validate_action_result", patched.original)
    monkeypatch.setattr(rasa, "__version__", "3.7.0")
    assert rasa_patches.apply() is False
    assert RemoteAction._validate_action_result is patched.original
