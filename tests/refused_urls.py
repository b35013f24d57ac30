"""Webhook URLs no deployment lets a webhook call (private addresses not allowed), with a word the refusal
names: shared by the call-time (tests/unit/test_drivers.py) and write-time (tests/integration) tests."""

from __future__ import annotations

import pytest

REFUSED_URLS = [
    pytest.param("http://169.254.169.254/latest/meta-data/", "link-local", id="instance metadata"),
    pytest.param("http://[fd00:ec2::254]/", "link-local", id="instance metadata over IPv6"),
    pytest.param("http://127.0.0.1:8000/moto-api/reset", "loopback", id="the local emulator's reset"),
    pytest.param("http://[::1]/", "loopback", id="IPv6 loopback"),
    pytest.param("http://10.0.0.5/", "private", id="10/8"),
    pytest.param("http://172.16.0.1/", "private", id="172.16/12"),
    pytest.param("http://192.168.1.1/", "private", id="192.168/16"),
    pytest.param("http://[fd12:3456::1]/", "private", id="IPv6 unique local"),
    pytest.param("http://100.64.0.1/", "shared (CGNAT)", id="CGNAT"),
    pytest.param("http://224.0.0.1/", "multicast", id="multicast"),
    pytest.param("http://[ff02::1]/", "multicast", id="IPv6 multicast"),
    pytest.param("http://240.0.0.1/", "reserved", id="reserved"),
    pytest.param("http://255.255.255.255/", "reserved", id="broadcast"),
    pytest.param("http://192.0.2.1/", "reserved", id="documentation range"),
    pytest.param("http://0.0.0.0/", "unspecified", id="unspecified"),
    pytest.param("http://[::]/", "unspecified", id="IPv6 unspecified"),
    pytest.param("http://[::ffff:127.0.0.1]/", "IPv4-mapped", id="IPv4-mapped loopback"),
    pytest.param("http://[::ffff:169.254.169.254]/", "IPv4-mapped", id="IPv4-mapped metadata"),
    pytest.param("http://[::127.0.0.1]/", "IPv4-mapped", id="IPv4-compatible"),
    pytest.param("http://[64:ff9b::a9fe:a9fe]/", "IPv4-mapped", id="NAT64 metadata"),
    pytest.param("http://2130706433/", "dotted decimal", id="decimal 127.0.0.1"),
    pytest.param("http://0177.0.0.1/", "dotted decimal", id="octal"),
    pytest.param("http://0x7f.0.0.1/", "dotted decimal", id="hex"),
    pytest.param("http://127.1/", "dotted decimal", id="short form"),
    pytest.param("http://127.0.0.1./", "dotted decimal", id="trailing dot"),
    pytest.param("http://localhost:8000/", "loopback", id="a name that resolves to loopback"),
]
