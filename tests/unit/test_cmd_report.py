"""nova-hwabi-report: output and exit codes, run through main()."""

import json
import re

import pytest

from nova_hwabi.capabilities.samples import load_sample, sample_names
from nova_hwabi.cmd import report
from tests.conftest import (
    CAPABILITIES,
    PASSTHROUGH_48_BITS,
    PASSTHROUGH_NO_BITS,
)


def run(capsys, *argv):
    code = report.main(["--config-file", "/dev/null", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_list_samples(capsys):
    code, out, _ = run(capsys, "--list-samples")
    assert code == report.ReportExit.OK
    assert out.split() == list(sample_names())


def test_list_samples_json(capsys):
    code, out, _ = run(capsys, "--list-samples", "--format", "json")
    assert code == report.ReportExit.OK
    assert json.loads(out) == list(sample_names())


def test_sample_table_shows_bits_and_reasons(capsys):
    code, out, _ = run(capsys, "--sample", "x86_64-kvm-debian12")
    assert code == report.ReportExit.OK
    assert "emulate, 46 bits" in out
    assert "COMPUTE_ADDRESS_SPACE_EMULATED" in out
    assert "cpu_mode = host-passthrough, it is host-model" in out


def test_sample_json(capsys):
    code, out, _ = run(capsys, "--sample", "x86_64-passthrough-52bits",
                       "--format", "json")
    assert code == report.ReportExit.OK
    data = json.loads(out)
    assert data["cpu_info"]["maxphysaddr"] == {"mode": "emulate", "bits": 52}
    assert data["traits"] == [
        "COMPUTE_ADDRESS_SPACE_EMULATED", "COMPUTE_ADDRESS_SPACE_PASSTHROUGH"
    ]
    assert data["domain_capabilities"][0]["host_model"]["maxphysaddr"][
        "limit"] == 52


@pytest.mark.parametrize(("name", "text", "maxphysaddr", "traits"), [
    (PASSTHROUGH_48_BITS, "passthrough, 48 bits",
     {"mode": "passthrough", "bits": 48},
     ["COMPUTE_ADDRESS_SPACE_EMULATED", "COMPUTE_ADDRESS_SPACE_PASSTHROUGH"]),
    (PASSTHROUGH_NO_BITS, "passthrough, bits not reported",
     {"mode": "passthrough", "bits": None},
     ["COMPUTE_ADDRESS_SPACE_PASSTHROUGH"]),
])
def test_host_with_passthrough_maxphysaddr(capsys, tmp_path, name, text,
                                           maxphysaddr, traits):
    conf = tmp_path / "nova.conf"
    conf.write_text("[libvirt]\nvirt_type = kvm\n"
                    "cpu_mode = host-passthrough\n")
    argv = ["--config-file", str(conf), "--capabilities",
            str(CAPABILITIES / name), "--libvirt-version", "9.0.0"]
    assert report.main(argv) == report.ReportExit.OK
    table = capsys.readouterr().out
    assert re.search(r"maxphysaddr\s+%s\n" % re.escape(text), table), table
    assert report.main([*argv, "--format", "json"]) == report.ReportExit.OK
    data = json.loads(capsys.readouterr().out)
    assert data["cpu_info"]["maxphysaddr"] == maxphysaddr
    assert data["traits"] == traits


def test_files_equal_sample(capsys, tmp_path):
    sample = load_sample("x86_64-kvm-debian12")
    caps = tmp_path / "caps.xml"
    caps.write_bytes(sample.capabilities_xml)
    domcaps = tmp_path / "domcaps.xml"
    domcaps.write_bytes(sample.domain_capabilities_xml)
    _, from_sample, _ = run(capsys, "--sample", sample.name, "--format",
                            "json")
    code, from_files, _ = run(
        capsys, "--capabilities", str(caps), "--domcapabilities",
        str(domcaps), "--libvirt-version", "9.0.0", "--hostname",
        sample.hypervisor_hostname, "--format", "json",
    )
    assert code == report.ReportExit.OK
    expected = json.loads(from_sample)
    expected["source"] = "files"
    assert json.loads(from_files) == expected


def test_config_file_enables_trait_families(capsys, tmp_path):
    conf = tmp_path / "nova.conf"
    conf.write_text(
        "[libvirt]\nvirt_type = kvm\ncpu_mode = host-passthrough\n"
        "[hwabi_capabilities]\nreport_bits_ladder = true\n"
        "bits_ladder_min = 44\nreport_machine_type_traits = true\n"
    )
    sample = load_sample("x86_64-kvm-debian12")
    caps = tmp_path / "caps.xml"
    caps.write_bytes(sample.capabilities_xml)
    code = report.main(["--config-file", str(conf), "--capabilities",
                        str(caps), "--libvirt-version", "9.0.0",
                        "--format", "json"])
    data = json.loads(capsys.readouterr().out)
    assert code == report.ReportExit.OK
    assert "COMPUTE_ADDRESS_SPACE_PASSTHROUGH" in data["traits"]
    assert [t for t in data["traits"] if "BITS" in t] == [
        "CUSTOM_HWABI_MAXPHYSADDR_BITS_44", "CUSTOM_HWABI_MAXPHYSADDR_BITS_45",
        "CUSTOM_HWABI_MAXPHYSADDR_BITS_46",
    ]
    assert "CUSTOM_HWABI_MACHINE_X86_64_PC_Q35_7_2" in data["traits"]


@pytest.mark.parametrize(("argv", "code", "message"), [
    (["--sample", "nope"], report.ReportExit.USAGE, "no sample host 'nope'"),
    (["--sample", "s390x-ccw", "--connect", "qemu:///system"],
     report.ReportExit.USAGE, "choose one source"),
    (["--capabilities", "/dev/null"], report.ReportExit.USAGE,
     "needs --libvirt-version"),
    (["--capabilities", "/dev/null", "--libvirt-version", "nine"],
     report.ReportExit.USAGE, "expected X.Y.Z"),
    (["--libvirt-version", "9.0.0"], report.ReportExit.USAGE,
     "--libvirt-version: goes only with --capabilities"),
    # A sample or a live host has its own name, version and domain
    # capabilities: the options for saved files must not be ignored.
    (["--sample", "s390x-ccw", "--hostname", "cmp1"], report.ReportExit.USAGE,
     "--hostname: goes only with --capabilities"),
    (["--sample", "s390x-ccw", "--libvirt-version", "9.0.0"],
     report.ReportExit.USAGE,
     "--libvirt-version: goes only with --capabilities"),
    (["--sample", "s390x-ccw", "--domcapabilities", "/dev/null",
      "--hostname", "cmp1"], report.ReportExit.USAGE,
     "--domcapabilities, --hostname: go only with --capabilities"),
    (["--list-samples", "--sample", "s390x-ccw"], report.ReportExit.USAGE,
     "--list-samples lists the shipped samples and reports on none: drop "
     "--sample"),
    (["--connect", "qemu:///system", "--hostname", "cmp1"],
     report.ReportExit.USAGE, "--hostname: goes only with --capabilities"),
    (["--capabilities", "/no/such/file", "--libvirt-version", "9.0.0"],
     report.ReportExit.BAD_DOCUMENT, "cannot access /no/such/file"),
    (["--capabilities", "/dev/null", "--libvirt-version", "9.0.0"],
     report.ReportExit.BAD_DOCUMENT, "document is empty"),
    (["--connect", "qemu+unix:///system?socket=/no/such/sock"],
     report.ReportExit.LIBVIRT, "cannot connect to libvirt at qemu+unix"),
])
def test_errors_have_exit_codes_and_one_line(capsys, argv, code, message):
    got, out, err = run(capsys, *argv)
    assert got == code
    assert message in err
    assert "Traceback" not in err
    assert err.strip().splitlines()[-1].startswith("nova-hwabi-report: ")
    assert out == ""


def test_malformed_file_is_exit_1(capsys, tmp_path):
    bad = tmp_path / "caps.xml"
    bad.write_text("<capabilities><host>")
    code, _, err = run(capsys, "--capabilities", str(bad),
                       "--libvirt-version", "9.0.0")
    assert code == report.ReportExit.BAD_DOCUMENT
    assert "not well-formed" in err


def test_bad_config_value_is_exit_2(capsys, tmp_path):
    conf = tmp_path / "nova.conf"
    conf.write_text("[hwabi_capabilities]\nbits_ladder_min = 7\n")
    code = report.main(["--config-file", str(conf), "--sample",
                        "s390x-ccw"])
    assert code == report.ReportExit.USAGE
    assert "bits_ladder_min" in capsys.readouterr().err


def test_unknown_argument_is_exit_2(capsys):
    assert report.main(["--bogus"]) == report.ReportExit.USAGE
    assert "unrecognized arguments: --bogus" in capsys.readouterr().err


def test_deprecated_machine_types_in_table_and_json(capsys):
    code, out, _ = run(capsys, "--sample", "x86_64-kvm-debian12")
    assert code == report.ReportExit.OK
    guest_row = next(line for line in out.splitlines()
                     if line.startswith("guest x86_64"))
    assert guest_row.endswith("deprecated: pc-i440fx-1.4, pc-i440fx-1.5, "
                              "pc-i440fx-1.6, pc-i440fx-1.7")
    code, out, _ = run(capsys, "--sample", "x86_64-kvm-debian12",
                       "--format", "json")
    guests = {g["arch"]: g for g in json.loads(out)["guests"]}
    assert guests["x86_64"]["deprecated"] == [
        "pc-i440fx-1.4", "pc-i440fx-1.5", "pc-i440fx-1.6", "pc-i440fx-1.7"]
    assert "pc-i440fx-1.4" in guests["x86_64"]["machines"]
    code, out, _ = run(capsys, "--sample", "aarch64-virt", "--format",
                       "json")
    assert all(g["deprecated"] == []
               for g in json.loads(out)["guests"])


@pytest.mark.parametrize(("argv", "message"), [
    (["--format", "yaml"], "argument --format"),
    (["--sync", "--interval", "0"], "argument --interval"),
    (["--sync", "--interval", "abc"], "argument --interval"),
])
def test_bad_values_on_the_command_line_are_usage_errors(capsys, argv,
                                                          message):
    got, out, err = run(capsys, *argv)
    assert got == report.ReportExit.USAGE
    assert message in err
    assert "Traceback" not in err
    assert out == ""
