"""Nova's extra-spec operators, parsed once and typed."""

import pytest

from nova_hwabi.filters.extra_specs import SpecSyntaxError, parse_requirement

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
    # <in>: membership for lists, substring for strings
    ("<in> aes", ["aes", "avx2"], True),
    ("<in> aes", ["vaes", "avx2"], False),
    ("<in> tel", "Intel", True),
    ("<in> x", {"x": 1}, True),
    # <all-in>
    ("<all-in> aes avx2", ["avx2", "aes", "sse"], True),
    ("<all-in> aes avx512f", ["avx2", "aes"], False),
    ("<all-in> In tel", "Intel", True),
    # <or>
    ("<or> kvm <or> qemu", "qemu", True),
    ("<or> kvm <or> qemu", "xen", False),
    ("<or> kvm", "kvm", True),
]


@pytest.mark.parametrize(("requirement", "capability", "expected"), MATCHES)
def test_matches(requirement, capability, expected):
    assert parse_requirement(requirement).matches(capability) is expected


# requirement, fragment of the error (upstream raised IndexError or
# ValueError per host, or silently failed every host)
BAD_SYNTAX = [
    (">= abc", "compares numbers, 'abc' is not one"),
    ("=", "needs a value"),
    ("s==", "needs a value"),
    ("<in>", "needs a value"),
    ("<all-in>", "needs at least one value"),
    ("<or>", "expected '<or> A <or> B ...'"),
    ("<or> a b", "expected '<or> A <or> B ...'"),
]


@pytest.mark.parametrize(("requirement", "fragment"), BAD_SYNTAX)
def test_bad_syntax_is_a_validation_error(requirement, fragment):
    with pytest.raises(SpecSyntaxError) as raised:
        parse_requirement(requirement)
    assert fragment in str(raised.value)
