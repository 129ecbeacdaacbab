"""Checksums against an independent implementation (crccheck) and known values."""

import pytest
from crccheck.crc import Crc8Autosar, Crc8SaeJ1850
from hypothesis import given, settings
from hypothesis import strategies as st

from lsv_can_bridge import checksums


@settings(deadline=None)
@given(st.binary(min_size=0, max_size=64))
def test_crc8_matches_crccheck(data: bytes) -> None:
    assert checksums.crc8_j1850(data) == Crc8SaeJ1850.calc(data)
    assert checksums.crc8_autosar(data) == Crc8Autosar.calc(data)


def test_known_values() -> None:
    assert checksums.crc8_j1850(b"123456789") == 0x4B  # SAE J1850 check value
    assert checksums.crc8_autosar(b"123456789") == 0xDF  # AUTOSAR check value
    assert checksums.xor8(bytes([0x01, 0x02, 0x04])) == 0x07
    assert checksums.sum8(bytes([0xFF, 0x02])) == 0x01


@pytest.mark.parametrize("index", [0, 3, 7])
def test_compute_leaves_out_the_checksum_byte(index: int) -> None:
    data = bytearray(range(1, 9))
    before = checksums.compute(checksums.xor8, data, index)
    data[index] = 0xAA
    assert checksums.compute(checksums.xor8, data, index) == before
