"""connection.connected: the one way our readers hold a libvirt connection.

Against libvirt's in-process ``test:///default`` driver (no daemon), so
every error is a real ``libvirtError`` with libvirt's own message.
"""

import libvirt
import pytest

from nova_hwabi.capabilities import connection, host_report
from nova_hwabi.capabilities.errors import LibvirtConnectionError
from nova_hwabi.machine_type import recorder

URI = "test:///default"


def missing_guest(conn):
    return conn.lookupByName("no-such-guest")


def missing_uuid(conn):
    return conn.lookupByUUIDString("00000000-0000-0000-0000-000000000001")


@pytest.mark.parametrize("read_only", [False, True])
@pytest.mark.parametrize("call", [missing_guest, missing_uuid])
def test_libvirt_errors_become_one_line_and_close(read_only, call):
    with pytest.raises(LibvirtConnectionError) as raised, \
            connection.connected(URI, read_only=read_only) as conn:
        call(conn)
    assert str(raised.value) == (
        "libvirt at test:///default failed: Domain not found")
    assert raised.value.__cause__ is None
    assert_closed(conn)


def test_other_errors_pass_unchanged_and_close():
    with pytest.raises(KeyError), connection.connected(URI) as conn:
        raise KeyError("ours")
    assert_closed(conn)


def test_the_connection_is_usable_inside_and_closed_after():
    with connection.connected(URI, read_only=True) as conn:
        assert conn.getHostname()
    assert_closed(conn)


class CapabilitiesFail:
    """A real connection whose capabilities call fails as libvirt does."""

    def __init__(self, uri, read_only=False):
        self.conn = libvirt.open(uri)
        self.closed = False

    def getCapabilities(self):  # noqa: N802 (libvirt's name)
        return missing_guest(self.conn)

    def close(self):
        self.closed = True
        self.conn.close()


@pytest.mark.parametrize("read", [
    lambda uri: host_report.read_live(uri, "kvm"),
    recorder.read_local_host,
], ids=["nova-hwabi-report", "recorder"])
def test_both_readers_say_the_same(monkeypatch, read):
    opened = []

    def connect(uri, read_only=False):
        opened.append(CapabilitiesFail(uri, read_only))
        return opened[-1]

    monkeypatch.setattr(connection, "connect", connect)
    with pytest.raises(LibvirtConnectionError) as raised:
        read(URI)
    assert str(raised.value) == (
        "libvirt at test:///default failed: Domain not found")
    assert [c.closed for c in opened] == [True]


@pytest.mark.parametrize("read", [
    lambda uri: host_report.read_live(uri, "kvm").capabilities,
    lambda uri: recorder.read_local_host(uri).domains,
], ids=["nova-hwabi-report", "recorder"])
def test_both_readers_read_the_test_driver(read):
    # test:///default has no domain capabilities: the report goes on
    # without them rather than failing the whole read.
    assert read(URI)


def assert_closed(conn):
    with pytest.raises(libvirt.libvirtError,
                       match="invalid connection pointer"):
        conn.getHostname()
