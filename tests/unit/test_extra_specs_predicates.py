"""Nova's extra-spec operators, parsed once, in Nova's and typed modes.

Every row is also checked against Nova 34's own
``extra_specs_ops.match(str(capability), requirement)`` where Nova gives
an answer: the default mode must give the same one.
"""

import pytest
from nova.scheduler.filters import extra_specs_ops

from nova_hwabi.filters.extra_specs import (
    NOVA,
    TYPED,
    SpecSyntaxError,
    parse_requirement,
)

# requirement, capability, expected match
MATCHES = [
    # plain equality on the string form, as upstream
    ("Intel", "Intel", True),
    ("Intel", "AMD", False),
    ("1", 1, True),
    ("", "", True),
    # '=' is Nova's '>=' on numbers
    ("= 4", 4, True),
    ("= 4", 8, True),
    ("= 4", 2, False),
    (">= 46", 46, True),
    (">= 46", "52", True),
    (">= 46", 39, False),
    ("<= 300", 1024, False),
    ("== 2.0", 2, True),
    ("!= 2", 3, True),
    # numbers compare as numbers: 10 >= 9 although '10' < '9'
    (">= 9", 10, True),
    # a capability that is not a number does not match (upstream raised)
    (">= 4", "many", False),
    (">= 4", None, False),
    (">= 4", True, False),
    # string operators are string comparisons, as documented
    ("s== abc", "abc", True),
    ("s!= abc", "abd", True),
    ("s< b", "a", True),
    ("s>= b", "a", False),
    # <in> / <all-in> / <or> on strings: the same in both modes
    ("<in> tel", "Intel", True),
    ("<all-in> In tel", "Intel", True),
    ("<or> kvm <or> qemu", "qemu", True),
    ("<or> kvm <or> qemu", "xen", False),
    ("<or> kvm", "kvm", True),
    ("<or> kvm <or>", "kvm", True),
]


@pytest.mark.parametrize("mode", [NOVA, TYPED])
@pytest.mark.parametrize(("requirement", "capability", "expected"), MATCHES)
def test_matches(requirement, capability, expected, mode):
    assert parse_requirement(requirement, mode).matches(capability) \
        is expected


# requirement, capability, Nova's answer (default mode), typed answer
MODE_DEPENDENT = [
    # The case: a host with only vaes passed Nova's <in> aes.
    ("<in> aes", ["vaes", "avx2"], True, False),
    ("<in> aes", ["aes", "avx2"], True, True),
    ("<in> 'aes'", ["aes"], True, False),
    ("<in> x", {"x": 1}, True, True),
    ("<in> 1", {"x": 1}, True, False),
    ("<all-in> aes avx2", ["avx2", "aes", "sse"], True, True),
    ("<all-in> aes avx512f", ["avx2", "aes"], False, False),
    ("<all-in> aes avx", ["vaes", "avx2"], True, False),
    # Nova skips the word between alternatives whatever it is.
    ("<or> kvm qemu xen", "xen", True, None),
    ("<or> kvm qemu xen", "qemu", False, None),
]


@pytest.mark.parametrize(("requirement", "capability", "nova", "typed"),
                         MODE_DEPENDENT)
def test_mode_dependent_operators(requirement, capability, nova, typed):
    assert parse_requirement(requirement).matches(capability) is nova
    assert parse_requirement(requirement, NOVA).matches(capability) is nova
    if typed is None:
        with pytest.raises(SpecSyntaxError):
            parse_requirement(requirement, TYPED)
    else:
        assert parse_requirement(requirement, TYPED).matches(capability) \
            is typed


def _nova_answer(requirement, capability):
    try:
        return extra_specs_ops.match(str(capability), requirement)
    except (ValueError, IndexError):
        return None  # Nova raises: no answer to agree with


@pytest.mark.parametrize(
    ("requirement", "capability", "expected"),
    [row[:3] for row in MATCHES] + [row[:3] for row in MODE_DEPENDENT])
def test_default_mode_gives_novas_answer(requirement, capability, expected):
    answer = _nova_answer(requirement, capability)
    if capability is None:
        return  # Nova's filter fails a host without the capability first
    if answer is None:
        assert expected is False  # Nova raised; we reject the host
    else:
        assert answer is expected


# requirement, fragment of the error (upstream raised IndexError or
# ValueError per host, or silently failed every host)
BAD_SYNTAX = [
    (">= abc", "compares numbers, 'abc' is not one"),
    ("=", "needs a value"),
    ("s==", "needs a value"),
    ("<in>", "needs a value"),
    ("<all-in>", "needs at least one value"),
    ("<or>", "expected '<or> A <or> B ...'"),
]


@pytest.mark.parametrize("mode", [NOVA, TYPED])
@pytest.mark.parametrize(("requirement", "fragment"), BAD_SYNTAX)
def test_bad_syntax_is_a_validation_error(requirement, fragment, mode):
    with pytest.raises(SpecSyntaxError) as raised:
        parse_requirement(requirement, mode)
    assert fragment in str(raised.value)


def test_typed_or_needs_separators():
    with pytest.raises(SpecSyntaxError) as raised:
        parse_requirement("<or> a b", TYPED)
    assert "expected '<or> A <or> B ...'" in str(raised.value)
