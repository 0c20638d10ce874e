"""Ports handed to test servers never come from the range outgoing connections draw source ports from."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from mlops_operator.devcluster import process
from mlops_operator.devcluster.process import FREE_PORT_RANGE, LOOPBACK, free_ports


def ephemeral_range() -> tuple[int, int]:
    low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
    return int(low), int(high)


def test_the_ports_are_distinct_bindable_and_below_the_ephemeral_range() -> None:
    ports = free_ports(6)
    assert len(set(ports)) == 6
    ephemeral_low, _ = ephemeral_range()
    for port in ports:
        assert FREE_PORT_RANGE[0] <= port < FREE_PORT_RANGE[1] <= ephemeral_low
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind((LOOPBACK, port))


def test_a_port_already_bound_is_never_handed_out(monkeypatch: pytest.MonkeyPatch) -> None:
    low = FREE_PORT_RANGE[0] + 500
    monkeypatch.setattr(process, "FREE_PORT_RANGE", (low, low + 8))
    held = []
    try:
        for port in range(low, low + 5):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            try:
                sock.bind((LOOPBACK, port))
                held.append(sock)
            except OSError:
                sock.close()
        taken = {sock.getsockname()[1] for sock in held}
        for _ in range(20):
            ports = set(free_ports(2))
            assert ports <= set(range(low, low + 8)) - taken
    finally:
        for sock in held:
            sock.close()
