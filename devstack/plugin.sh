#!/bin/bash
# DevStack plugin of nova-hwabi: installs it beside Nova and writes the
# nova.conf lines of the install guide (doc/source/install/index.rst) for
# each service DevStack runs here:
#
#   API (n-api)           nothing but the install: the extra-spec
#                         validators register through an entry point
#   scheduler (n-sch)     [filter_scheduler] available_filters, and with
#                         NOVA_HWABI_SCHEDULER=True [hwabi_scheduler] and
#                         nova-hwabi-scheduler in place of nova-scheduler
#   compute (n-cpu)       compute_driver = hwabi.HwabiLibvirtDriver and
#                         [hwabi_capabilities]
#
# The nova_hwabi_configure_* functions take the config file to write, so
# they can be run (and are tested) against any nova.conf with DevStack's
# iniset/iniadd/iniget_multiline.

NOVA_FILTERS=nova.scheduler.filters.all_filters
NOVA_HWABI_FILTERS=nova_hwabi.filters.all_filters

# Install nova-hwabi into Nova's Python environment and link the
# nova/virt/hwabi shim into Nova's package (an editable install cannot
# place it; a wheel install would).
function nova_hwabi_install {
    setup_develop "$NOVA_HWABI_DIR"
    "$NOVA_HWABI_DIR/scripts/link-nova-shim" "${PYTHON:-python3}"
}

# Scheduler: our drop-in filters listed after Nova's, so they replace
# Nova's ComputeCapabilitiesFilter and ImagePropertiesFilter.
function nova_hwabi_configure_scheduler {
    local conf=$1
    local current
    current=$(iniget_multiline "$conf" filter_scheduler available_filters)
    if [[ -z "$current" ]]; then
        iniset "$conf" filter_scheduler available_filters "$NOVA_FILTERS"
        current=$NOVA_FILTERS
    fi
    if [[ " $current " != *" $NOVA_HWABI_FILTERS "* ]]; then
        iniadd "$conf" filter_scheduler available_filters \
            "$NOVA_HWABI_FILTERS"
    fi
    if [[ "$NOVA_HWABI_SCHEDULER" == "True" ]]; then
        iniset "$conf" hwabi_scheduler request_filters \
            "$NOVA_HWABI_REQUEST_FILTERS"
        iniset "$conf" hwabi_scheduler require_bits_ladder True
    fi
}

# Compute: nova-compute loads our libvirt driver; opt-in traits.
function nova_hwabi_configure_compute {
    local conf=$1
    iniset "$conf" DEFAULT compute_driver "$NOVA_HWABI_COMPUTE_DRIVER"
    iniset "$conf" hwabi_capabilities report_bits_ladder \
        "$NOVA_HWABI_REPORT_BITS_LADDER"
    iniset "$conf" hwabi_capabilities report_machine_type_traits \
        "$NOVA_HWABI_REPORT_MACHINE_TYPE_TRAITS"
}

# Restart DevStack's n-sch service as nova-hwabi-scheduler.
function nova_hwabi_start_scheduler {
    stop_process n-sch
    run_process n-sch "$NOVA_BIN_DIR/nova-hwabi-scheduler --config-file $NOVA_CONF"
}

function nova_hwabi_post_config {
    local conf
    if is_service_enabled n-sch; then
        nova_hwabi_configure_scheduler "$NOVA_CONF"
    fi
    if is_service_enabled n-cpu && [[ "${VIRT_DRIVER:-libvirt}" == "libvirt" ]]; then
        # DevStack writes compute_driver to nova.conf; nova-compute reads
        # nova-cpu.conf where DevStack made one.
        for conf in "$NOVA_CONF" "${NOVA_CPU_CONF:-}"; do
            if [[ -n "$conf" && -f "$conf" ]]; then
                nova_hwabi_configure_compute "$conf"
            fi
        done
    fi
}

if [[ "${1:-}" == "stack" ]]; then
    case "${2:-}" in
        install)
            echo_summary "Installing nova-hwabi"
            nova_hwabi_install
            ;;
        post-config)
            echo_summary "Configuring Nova for nova-hwabi"
            nova_hwabi_post_config
            ;;
        extra)
            if is_service_enabled n-sch && [[ "$NOVA_HWABI_SCHEDULER" == "True" ]]; then
                echo_summary "Running nova-hwabi-scheduler as n-sch"
                nova_hwabi_start_scheduler
            fi
            ;;
    esac
fi
