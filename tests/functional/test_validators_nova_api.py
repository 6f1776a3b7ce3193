"""Our maxphysaddr extra-spec validators inside Nova's real compute API.

Nova (32 to 34) has no validator for ``hw:maxphysaddr_mode`` or
``hw:maxphysaddr_bits``, yet it knows the ``hw`` namespace, so from API
microversion 2.86 on it rejects both keys as "not a valid extra spec".
nova-hwabi registers validators for them through the
``nova.api.extra_spec_validators`` entry point. This module proves:

* Nova's stevedore loader picked up exactly our validators;
* Nova's own ``validators.validate()`` accepts the valid values and
  rejects the invalid ones with a message naming the problem;
* the compute API, run in-process (wsgi-intercept, shipped default
  policy, SQLite databases), stores valid values at 2.86 and later and
  answers 400 with that message for invalid ones, storing nothing;
* without our two entries in the registry the same valid request gets
  400 "does not appear to be a valid extra spec" (the upstream defect);
* before 2.86 Nova validates nothing, so even invalid values are stored.
"""

import contextlib
import importlib.metadata
from unittest import mock

import ddt
import pytest
from nova import exception, test
from nova.api.validation.extra_specs import validators
from nova.tests import fixtures as nova_fixtures

from nova_hwabi.validators import maxphysaddr

MODE = "hw:maxphysaddr_mode"
BITS = "hw:maxphysaddr_bits"
VALID_SPECS = {MODE: "emulate", BITS: "46"}
UNKNOWN_SPEC = "does not appear to be a valid extra spec"

VALID = [
    (MODE, "emulate"),
    (MODE, "passthrough"),
    (BITS, "32"),
    (BITS, "46"),
    (BITS, "52"),
]
# (name, value, what Nova's message must say about it)
_RANGE = "expected an integer from 32 to 52, written with the digits 0-9 only"
INVALID = [
    (MODE, "fast", "'fast': unknown mode, expected emulate or passthrough"),
    (MODE, "", "'': unknown mode, expected emulate or passthrough"),
    (BITS, "31", "hw:maxphysaddr_bits = 31: expected 32 to 52"),
    (BITS, "53", "hw:maxphysaddr_bits = 53: expected 32 to 52"),
    (BITS, "abc", "hw:maxphysaddr_bits = 'abc': " + _RANGE),
    (BITS, "4.5", "hw:maxphysaddr_bits = '4.5': " + _RANGE),
    # Nova's int() takes these, the scheduler refused them: one parser now.
    (BITS, "+46", "hw:maxphysaddr_bits = '+46': " + _RANGE),
    (BITS, "4_6", "hw:maxphysaddr_bits = '4_6': " + _RANGE),
    (BITS, "\u00b2", "hw:maxphysaddr_bits = '\u00b2': " + _RANGE),
    (BITS, "\u0664\u0666", "hw:maxphysaddr_bits = '\u0664\u0666': " + _RANGE),
]


@contextlib.contextmanager
def _without_our_validators():
    """Nova's registry as it is without nova-hwabi, for the block.

    mock.patch.dict puts the removed entries back when the block ends.
    """
    with mock.patch.dict(validators.VALIDATORS):
        del validators.VALIDATORS[MODE], validators.VALIDATORS[BITS]
        yield


def _api_paste_ini():
    """Where pip put Nova's api-paste.ini, or None to keep Nova's default.

    Nova's test ConfFixture expects the file at $pybasedir/etc/nova, as in
    a source checkout; the wheel installs it under the environment's data
    directory ($prefix/etc/nova) instead, so OSAPIFixture cannot find it.
    """
    for path in importlib.metadata.distribution("nova").files or ():
        if path.as_posix().endswith("etc/nova/api-paste.ini"):
            return str(path.locate().resolve())
    return None


# -- Nova's validate() -----------------------------------------------------


def test_novas_registry_holds_our_validators():
    # Loaded by stevedore at import of Nova's validators module, so this
    # fails if the entry point in setup.cfg is missing or broken.
    ours = {v.name: v for v in maxphysaddr.register()}
    assert set(ours) == {MODE, BITS}
    for name, validator in ours.items():
        assert validators.VALIDATORS[name] == validator


@pytest.mark.parametrize(("name", "value"), VALID)
def test_validate_accepts(name, value):
    assert validators.validate(name, value) is None


@pytest.mark.parametrize(("name", "value", "message"), INVALID)
def test_validate_rejects_with_message(name, value, message):
    with pytest.raises(exception.ValidationError) as caught:
        validators.validate(name, value)
    assert message in str(caught.value)


@pytest.mark.parametrize(("name", "value"), VALID)
def test_validate_without_ours_rejects_valid_values(name, value):
    with (
        _without_our_validators(),
        pytest.raises(exception.ValidationError) as caught,
    ):
        validators.validate(name, value)
    assert UNKNOWN_SPEC in str(caught.value)
    # ...and the registry is whole again afterwards.
    validators.validate(name, value)


# -- the compute API in-process ----------------------------------------------


@ddt.ddt
class TestFlavorExtraSpecsAPI(test.TestCase):
    """POST/PUT/GET /flavors/{id}/os-extra_specs on Nova's real WSGI app.

    test.TestCase brings the API and cell databases (flavors live in the
    API database); no compute, scheduler or conductor service is needed
    because extra specs are handled by nova-api alone.
    """

    # The extra-spec validation microversion.
    MICROVERSION = "2.86"

    def setUp(self):
        super().setUp()
        paste = _api_paste_ini()
        if paste is not None:
            self.flags(api_paste_config=paste, group="wsgi")
        # The shipped default policy, not Nova's legacy fake_policy, so
        # only the admin role may manage flavors, as in a deployment.
        self.useFixture(nova_fixtures.RealPolicyFixture())
        api_fixture = self.useFixture(nova_fixtures.OSAPIFixture(
            api_version="v2.1"))
        self.api = api_fixture.admin_api
        self.api.microversion = self.MICROVERSION
        self.flavor_id = self.api.post_flavor({"flavor": {
            "name": "maxphysaddr", "ram": 512, "vcpus": 1, "disk": 1,
        }})["id"]

    # -- helpers --

    def _post_specs(self, specs, status):
        """POST ``specs``; fail unless Nova answers ``status``."""
        return self.api.api_post(
            "/flavors/%s/os-extra_specs" % self.flavor_id,
            {"extra_specs": specs}, check_response_status=[status],
        )

    def _put_spec(self, name, value, status):
        """PUT one spec; fail unless Nova answers ``status``."""
        return self.api.api_put(
            "/flavors/%s/os-extra_specs/%s" % (self.flavor_id, name),
            {name: value}, check_response_status=[status],
        )

    def _stored(self):
        return self.api.get_extra_specs(self.flavor_id)

    def _assert_bad_request(self, response, message):
        self.assertEqual(400, response.status)
        self.assertIn(message, response.body["badRequest"]["message"])
        # A rejected request must not store anything.
        self.assertEqual({}, self._stored())

    # -- tests --

    @ddt.data("2.86", "latest")
    def test_valid_specs_are_stored(self, microversion):
        self.api.microversion = microversion
        response = self._post_specs(VALID_SPECS, 200)
        self.assertEqual({"extra_specs": VALID_SPECS}, response.body)
        self.assertEqual(VALID_SPECS, self._stored())

    @ddt.data(*VALID)
    @ddt.unpack
    def test_valid_spec_is_stored_by_put(self, name, value):
        self._put_spec(name, value, 200)
        self.assertEqual({name: value}, self._stored())

    def test_json_number_is_validated_as_its_string(self):
        # The schema admits JSON numbers; Nova validates str(value) and
        # stores the string.
        self._post_specs({BITS: 46}, 200)
        self.assertEqual({BITS: "46"}, self._stored())
        response = self._post_specs({BITS: 53}, 400)
        self.assertIn("hw:maxphysaddr_bits = 53: expected 32 to 52",
                      response.body["badRequest"]["message"])
        self.assertEqual({BITS: "46"}, self._stored())

    @ddt.data(*INVALID)
    @ddt.unpack
    def test_invalid_spec_is_rejected_by_post(self, name, value, message):
        # Paired with a valid key: the whole request must be refused.
        specs = dict(VALID_SPECS, **{name: value})
        self._assert_bad_request(self._post_specs(specs, 400), message)

    @ddt.data(*INVALID)
    @ddt.unpack
    def test_invalid_spec_is_rejected_by_put(self, name, value, message):
        self._assert_bad_request(self._put_spec(name, value, 400), message)

    def test_without_our_validators_valid_specs_are_rejected(self):
        # The upstream defect: 'hw' is a known namespace, so keys Nova has
        # no validator for are refused however valid their value.
        with _without_our_validators():
            response = self._post_specs(VALID_SPECS, 400)
        self._assert_bad_request(response, UNKNOWN_SPEC)
        # With ours back in the registry the same request succeeds.
        self._post_specs(VALID_SPECS, 200)
        self.assertEqual(VALID_SPECS, self._stored())

    @ddt.data(*INVALID)
    @ddt.unpack
    def test_before_2_86_nothing_is_validated(self, name, value, message):
        # Nova's documented behaviour: extra-spec validation starts at
        # 2.86, so older clients can still store invalid values.
        self.api.microversion = "2.85"
        self._post_specs({name: value}, 200)
        self.assertEqual({name: value}, self._stored())
