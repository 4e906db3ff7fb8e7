"""IEEE 11073-20601 SFLOAT (16-bit) and FLOAT (32-bit) numbers, decoded and encoded.

This module owns the number formats that Bluetooth SIG health characteristics carry
(GATT Specification Supplement, "medfloat16" and "medfloat32"; ISO/IEEE 11073-20601
§F.8 "SFLOAT-Type" and "FLOAT-Type"). It works on raw unsigned words (``int``); byte
order and field layout belong to :mod:`hub.sensors.ble.parsers`.

* A value is ``mantissa × 10**exponent``. SFLOAT has a 4-bit signed exponent and a
  12-bit signed mantissa; FLOAT an 8-bit signed exponent and a 24-bit signed mantissa.
* Decoded values are :class:`decimal.Decimal` built from mantissa and exponent, so the
  device's precision survives: ``0x0014`` is ``Decimal('20')``, ``0xF014`` is
  ``Decimal('2.0')`` and ``0xE0C8`` is ``Decimal('2.00')``.
* Special values (NaN, NRes, ±INF, reserved) are recognised on the **raw word** before
  any sign extension, and come back as a :class:`Special` marker, never as a float NaN.
"""

from __future__ import annotations

import enum
from decimal import Decimal
from functools import lru_cache

__all__ = [
    "Special",
    "decode_sfloat",
    "encode_sfloat",
    "decode_float",
    "encode_float",
    "SFLOAT_MANTISSA_MAX",
    "FLOAT_MANTISSA_MAX",
]


class Special(enum.Enum):
    """An IEEE 11073 special value: the device sent no number."""

    NAN = "NaN"
    """Not a Number: no valid value (e.g. the measurement failed)."""
    NRES = "NRes"
    """Not at this Resolution: the value cannot be represented."""
    PLUS_INFINITY = "+INF"
    """Above the range the device can measure."""
    MINUS_INFINITY = "-INF"
    """Below the range the device can measure."""
    RESERVED = "reserved"
    """Reserved for future use by IEEE 11073; treated like NaN."""


# 11073-20601 §F.8: the special words. Keys are raw words, compared before sign
# extension, because e.g. 0x0800 would otherwise read as mantissa -2048, exponent 0.
_SFLOAT_SPECIALS = {
    0x07FF: Special.NAN,
    0x0800: Special.NRES,
    0x07FE: Special.PLUS_INFINITY,
    0x0802: Special.MINUS_INFINITY,
    0x0801: Special.RESERVED,
}
_FLOAT_SPECIALS = {
    0x007FFFFF: Special.NAN,
    0x00800000: Special.NRES,
    0x007FFFFE: Special.PLUS_INFINITY,
    0x00800002: Special.MINUS_INFINITY,
    0x00800001: Special.RESERVED,
}
_SFLOAT_WORD = {special: word for word, special in _SFLOAT_SPECIALS.items()}
_FLOAT_WORD = {special: word for word, special in _FLOAT_SPECIALS.items()}

# Largest mantissa magnitude the encoder writes. 11073-20601 keeps ±(2**11 - 3) and
# ±(2**23 - 3) so that no finite value can collide with a special word at exponent 0.
# The decoder still accepts the full range at other exponents (e.g. 0x17FF = 2047E+1).
SFLOAT_MANTISSA_MAX = 2**11 - 3
FLOAT_MANTISSA_MAX = 2**23 - 3

_SFLOAT_EXPONENT = (-8, 7)
_FLOAT_EXPONENT = (-128, 127)


def _signed(value: int, bits: int) -> int:
    """Two's-complement sign extension of an unsigned ``bits``-wide integer."""
    return value - (1 << bits) if value & (1 << (bits - 1)) else value


@lru_cache(maxsize=8192)
def decode_sfloat(raw: int) -> Decimal | Special:
    """Decode a 16-bit SFLOAT word.

    Results are cached: a device repeats the same few words, and Decimals are immutable.

    :param raw: the unsigned 16-bit word (already assembled from little-endian bytes).
    :returns: the value as a Decimal keeping the device's exponent, or a :class:`Special`.
    :raises ValueError: ``raw`` is not in 0..0xFFFF (a programming error, not bad data).
    """
    if not 0 <= raw <= 0xFFFF:
        raise ValueError(f"SFLOAT word out of range: {raw!r}")
    special = _SFLOAT_SPECIALS.get(raw)
    if special is not None:
        return special
    exponent = _signed(raw >> 12, 4)
    mantissa = _signed(raw & 0x0FFF, 12)
    return Decimal(mantissa).scaleb(exponent)


def decode_float(raw: int) -> Decimal | Special:
    """Decode a 32-bit FLOAT word.

    :param raw: the unsigned 32-bit word (already assembled from little-endian bytes).
    :returns: the value as a Decimal keeping the device's exponent, or a :class:`Special`.
    :raises ValueError: ``raw`` is not in 0..0xFFFFFFFF (a programming error).
    """
    if not 0 <= raw <= 0xFFFFFFFF:
        raise ValueError(f"FLOAT word out of range: {raw!r}")
    special = _FLOAT_SPECIALS.get(raw)
    if special is not None:
        return special
    exponent = _signed(raw >> 24, 8)
    mantissa = _signed(raw & 0x00FFFFFF, 24)
    return Decimal(mantissa).scaleb(exponent)


def _mantissa_exponent(
    value: Decimal | int | float | str, mantissa_max: int, exponent_range: tuple[int, int],
    kind: str,
) -> tuple[int, int]:
    """Find (mantissa, exponent) for ``value``, keeping its own exponent when it fits.

    When the value's own exponent does not fit, an equal value with another exponent is
    used (trailing zeros moved between mantissa and exponent); the value is never rounded.
    """
    # A float goes through its shortest repr, so 36.6 means Decimal('36.6'), not the
    # binary approximation 36.60000000000000142...
    number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    if not number.is_finite():
        raise ValueError(f"{kind} cannot encode {value!r}: use a Special marker instead")
    sign, digits, exponent = number.as_tuple()
    mantissa = int("".join(map(str, digits)) or "0")
    low, high = exponent_range
    # Too small an exponent: drop trailing zeros of the mantissa (1200E-10 -> 12E-8).
    while exponent < low and mantissa % 10 == 0 and mantissa:
        mantissa //= 10
        exponent += 1
    if mantissa == 0:
        exponent = min(max(exponent, low), high)
    # Too large an exponent, or a mantissa that does not fit: trade digits, losslessly.
    while exponent > high and mantissa * 10 <= mantissa_max:
        mantissa *= 10
        exponent -= 1
    while mantissa > mantissa_max and mantissa % 10 == 0 and exponent < high:
        mantissa //= 10
        exponent += 1
    if mantissa > mantissa_max or not low <= exponent <= high:
        raise ValueError(
            f"{kind} cannot represent {value!r} exactly (mantissa ±{mantissa_max}, "
            f"exponent {low}..{high}); round it first"
        )
    return (-mantissa if sign else mantissa), exponent


def encode_sfloat(value: Decimal | int | float | str | Special) -> int:
    """Encode a value as a 16-bit SFLOAT word (the inverse of :func:`decode_sfloat`).

    ``Decimal('2.0')`` encodes as mantissa 20, exponent -1, so it decodes back to
    ``Decimal('2.0')``, not ``Decimal('2')``.

    :param value: a finite Decimal (or int, float, decimal string), or a :class:`Special`.
    :returns: the unsigned 16-bit word; write it little-endian.
    :raises ValueError: the value cannot be represented exactly.
    """
    if isinstance(value, Special):
        return _SFLOAT_WORD[value]
    mantissa, exponent = _mantissa_exponent(value, SFLOAT_MANTISSA_MAX, _SFLOAT_EXPONENT, "SFLOAT")
    return ((exponent & 0x0F) << 12) | (mantissa & 0x0FFF)


def encode_float(value: Decimal | int | float | str | Special) -> int:
    """Encode a value as a 32-bit FLOAT word (the inverse of :func:`decode_float`).

    :param value: a finite Decimal (or int, float, decimal string), or a :class:`Special`.
    :returns: the unsigned 32-bit word; write it little-endian.
    :raises ValueError: the value cannot be represented exactly.
    """
    if isinstance(value, Special):
        return _FLOAT_WORD[value]
    mantissa, exponent = _mantissa_exponent(value, FLOAT_MANTISSA_MAX, _FLOAT_EXPONENT, "FLOAT")
    return ((exponent & 0xFF) << 24) | (mantissa & 0x00FFFFFF)
