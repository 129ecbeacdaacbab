"""Bus helpers over python-can's in-process virtual bus: reader thread, BLF/ASC logging, open errors."""

from __future__ import annotations

import threading
from pathlib import Path

import can
import pytest

from lsv_can_bridge.bus import BusLogger, BusOpenError, BusReader, open_bus
from lsv_can_bridge.params import BusParams


def test_reader_delivers_frames_with_receive_time() -> None:
    params = BusParams("virtual", "test_reader", 500000)
    tx, rx = open_bus(params), open_bus(params)
    got: list[tuple[int, can.Message]] = []
    done = threading.Event()

    def on_frame(now_ns: int, msg: can.Message) -> None:
        got.append((now_ns, msg))
        if len(got) == 3:
            done.set()

    reader = BusReader(rx, on_frame).start()
    try:
        for i in range(3):
            tx.send(can.Message(arbitration_id=0x201 + i, data=bytes([i] * 8), is_extended_id=False))
        assert done.wait(2.0)
    finally:
        reader.stop()
        tx.shutdown()
        rx.shutdown()
    assert [m.arbitration_id for _, m in got] == [0x201, 0x202, 0x203]
    assert got[0][0] <= got[2][0]


@pytest.mark.parametrize("suffix", [".asc", ".blf"])
def test_bus_log_is_readable_by_python_can(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"can{suffix}"
    log = BusLogger(str(path))
    sent = [can.Message(arbitration_id=0x101, data=bytes(range(8)), is_extended_id=False, timestamp=1.0 + i,
                        is_rx=False) for i in range(5)]
    for m in sent:
        log.write(m)
    log.close()
    back = list(can.LogReader(str(path)))
    assert [(m.arbitration_id, bytes(m.data)) for m in back] == [(0x101, bytes(range(8)))] * 5


def test_bad_interface_fails_with_a_clear_error() -> None:
    with pytest.raises(BusOpenError, match=r"cannot open CAN bus .*no_such_interface"):
        open_bus(BusParams("no_such_interface", "can0", 500000))


def test_an_os_error_under_python_cans_message_is_named(monkeypatch) -> None:
    """udp_multicast says only "could not create or configure socket"; the reason (a port taken
    by another socket, no multicast route) is in its __cause__ and must reach the log."""
    def bus_on_a_taken_port(**_):
        try:
            raise OSError(98, "Address already in use")
        except OSError as err:
            raise can.CanInitializationError("could not create or configure socket") from err

    monkeypatch.setattr(can, "Bus", bus_on_a_taken_port)
    with pytest.raises(BusOpenError, match=r"could not create or configure socket \(Address already in use\)"):
        open_bus(BusParams("udp_multicast", "239.74.1.2", 500000))
