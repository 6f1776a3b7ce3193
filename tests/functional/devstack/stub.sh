#!/bin/bash
# The DevStack functions devstack/plugin.sh calls, for tests: the ini
# functions with DevStack's semantics (ini.py) and the service helpers.
# DEVSTACK_STUB_PYTHON and DEVSTACK_STUB_ENABLED (services, comma
# separated) come from the test.
_ini="$(dirname "${BASH_SOURCE[0]}")/ini.py"

function iniset { "$DEVSTACK_STUB_PYTHON" "$_ini" set "$@"; }
function iniadd { "$DEVSTACK_STUB_PYTHON" "$_ini" add "$@"; }
function iniget { "$DEVSTACK_STUB_PYTHON" "$_ini" get "$@"; }
function iniget_multiline { "$DEVSTACK_STUB_PYTHON" "$_ini" get-multiline "$@"; }
function is_service_enabled { [[ ",$DEVSTACK_STUB_ENABLED," == *",$1,"* ]]; }
function echo_summary { echo "$@"; }
