"""Frame checksums, pluggable by name in a chassis YAML (``checksum: {algorithm: ...}``).

Every algorithm takes the frame's payload with the checksum byte left out (bytes in wire
order) and returns one byte. Add an algorithm by adding a function to ``ALGORITHMS``.
"""

from __future__ import annotations

from collections.abc import Callable

ChecksumFn = Callable[[bytes], int]


def xor8(data: bytes) -> int:
    """XOR of all bytes (the usual low-speed chassis 'BCC')."""
    value = 0
    for b in data:
        value ^= b
    return value


def sum8(data: bytes) -> int:
    """Sum of all bytes modulo 256."""
    return sum(data) & 0xFF


def _crc8_table(poly: int) -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = ((crc << 1) ^ poly) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
        table.append(crc)
    return tuple(table)


def _make_crc8(poly: int, init: int, xor_out: int, name: str, doc: str) -> ChecksumFn:
    table = _crc8_table(poly)

    def crc8(data: bytes) -> int:
        crc = init
        for b in data:
            crc = table[crc ^ b]
        return crc ^ xor_out

    crc8.__name__ = name
    crc8.__doc__ = doc
    return crc8


crc8_j1850 = _make_crc8(0x1D, 0xFF, 0xFF, "crc8_j1850", "CRC-8 SAE J1850 (poly 0x1D, init 0xFF, xor-out 0xFF).")
crc8_autosar = _make_crc8(0x2F, 0xFF, 0xFF, "crc8_autosar", "CRC-8 AUTOSAR / H2F (poly 0x2F, init 0xFF, xor-out 0xFF).")

ALGORITHMS: dict[str, ChecksumFn] = {
    "xor8": xor8,
    "sum8": sum8,
    "crc8_j1850": crc8_j1850,
    "crc8_autosar": crc8_autosar,
}


def compute(algorithm: ChecksumFn, data: bytes | bytearray, checksum_byte: int) -> int:
    """Checksum of ``data`` leaving out byte ``checksum_byte``."""
    return algorithm(bytes(data[:checksum_byte]) + bytes(data[checksum_byte + 1:]))
