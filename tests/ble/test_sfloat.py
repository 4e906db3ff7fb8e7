"""IEEE 11073-20601 SFLOAT/FLOAT: worked words, special values, exhaustive round trip.

Vectors are computed by hand from 11073-20601 §F.8 ("SFLOAT-Type", "FLOAT-Type"):
value = mantissa × 10**exponent, exponent in the top 4 (SFLOAT) or 8 (FLOAT) bits,
both two's complement; special words are compared before sign extension.
"""

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hub.sensors.ble.sfloat import (
    FLOAT_MANTISSA_MAX,
    SFLOAT_MANTISSA_MAX,
    Special,
    decode_float,
    decode_sfloat,
    encode_float,
    encode_sfloat,
)


def same(a: Decimal, b: Decimal) -> bool:
    """Equal value *and* equal exponent: Decimal('2.0') is not Decimal('2.00') here."""
    return a.as_tuple() == b.as_tuple()


@pytest.mark.parametrize(
    "word, expected",
    [
        (0xF07D, "12.5"),     # exponent 0xF = -1, mantissa 0x07D = 125
        (0x0014, "20"),       # exponent 0, mantissa 20
        (0xF014, "2.0"),      # -1, 20
        (0xE0C8, "2.00"),     # 0xE = -2, 0x0C8 = 200
        (0x0078, "120"),      # a systolic in mmHg
        (0xF0A0, "16.0"),     # 160 × 10^-1, a systolic in kPa
        (0xFFFF, "-0.1"),     # exponent -1, mantissa 0xFFF = -1
        (0x0FFF, "-1"),       # exponent 0, mantissa -1
        (0xF801, "-204.7"),   # exponent -1, mantissa 0x801 = -2047: NOT the reserved word 0x0801
        (0x1800, "-2.048E+4"),  # exponent 1, mantissa -2048: NOT NRes (0x0800)
        (0x17FF, "2.047E+4"),   # exponent 1, mantissa 2047: NOT NaN (0x07FF)
        (0x8001, "1E-8"),     # smallest exponent
        (0x7001, "1E+7"),     # largest exponent
        (0xB05F, "0.00095"),  # 95 × 10^-5 kg/L = 95 mg/dL of glucose
        (0x0000, "0"),
        (0xD000, "0.000"),    # zero keeps its exponent too
    ],
)
def test_sfloat_decodes_worked_words(word, expected):
    value = decode_sfloat(word)
    assert same(value, Decimal(expected)), (hex(word), value)


def test_sfloat_keeps_precision_so_two_point_zero_differs_from_two_point_zero_zero():
    assert decode_sfloat(0xF014) == decode_sfloat(0xE0C8)  # same number...
    assert not same(decode_sfloat(0xF014), decode_sfloat(0xE0C8))  # ...different precision
    assert str(decode_sfloat(0xF014)) == "2.0" and str(decode_sfloat(0xE0C8)) == "2.00"


@pytest.mark.parametrize(
    "word, special",
    [
        (0x07FF, Special.NAN),
        (0x0800, Special.NRES),
        (0x07FE, Special.PLUS_INFINITY),
        (0x0802, Special.MINUS_INFINITY),
        (0x0801, Special.RESERVED),
    ],
)
def test_sfloat_special_words_are_markers_not_numbers(word, special):
    assert decode_sfloat(word) is special
    assert encode_sfloat(special) == word


@pytest.mark.parametrize(
    "word, expected",
    [
        (0xFF00016E, "36.6"),       # exponent 0xFF = -1, mantissa 366
        (0xFF0003DA, "98.6"),       # -1, 986 (a temperature in °F)
        (0x00FFFFFF, "-1"),         # exponent 0, mantissa -1
        (0xFD0F4240, "1000.000"),   # exponent -3, mantissa 1 000 000
        (0x80000001, "1E-128"),     # smallest exponent
        (0x7F000001, "1E+127"),     # largest exponent
        (0x01800000, "-8.388608E+7"),  # exponent 1, mantissa -2**23: NOT NRes
        (0xFE800001, "-83886.07"),  # exponent -2, mantissa -8388607: NOT reserved
    ],
)
def test_float_decodes_worked_words(word, expected):
    assert same(decode_float(word), Decimal(expected)), hex(word)


@pytest.mark.parametrize(
    "word, special",
    [
        (0x007FFFFF, Special.NAN),
        (0x00800000, Special.NRES),
        (0x007FFFFE, Special.PLUS_INFINITY),
        (0x00800002, Special.MINUS_INFINITY),
        (0x00800001, Special.RESERVED),
    ],
)
def test_float_special_words_are_markers_not_numbers(word, special):
    assert decode_float(word) is special
    assert encode_float(special) == word


@pytest.mark.parametrize(
    "value, word",
    [("12.5", 0xF07D), ("2.0", 0xF014), ("2.00", 0xE0C8), ("-0.1", 0xFFFF), ("120", 0x0078),
     ("0.00095", 0xB05F), ("2045", 0x07FD), ("-2045", 0x0803)],
)
def test_sfloat_encodes_keeping_the_exponent(value, word):
    assert encode_sfloat(Decimal(value)) == word


def test_sfloat_encoder_moves_trailing_zeros_losslessly_when_the_exponent_does_not_fit():
    # 1E+9 has exponent 9 > 7: written as 100 × 10^7, same value.
    assert decode_sfloat(encode_sfloat(Decimal("1E+9"))) == Decimal("1E+9")
    # 20000 has mantissa 20000 > 2045 at exponent 0: written as 200 × 10^2.
    assert decode_sfloat(encode_sfloat(20000)) == 20000
    # 1.000E-8 has exponent -11: trailing zeros dropped to 1 × 10^-8.
    assert decode_sfloat(encode_sfloat(Decimal("1.000E-8"))) == Decimal("1E-8")


@pytest.mark.parametrize("value", ["2046", "12345", "1E-9", "2.1E+10", "NaN", "Infinity"])
def test_sfloat_encoder_refuses_what_it_cannot_write_exactly(value):
    with pytest.raises(ValueError):
        encode_sfloat(Decimal(value))


@pytest.mark.parametrize("value", ["8388606", "1E-129", "NaN"])
def test_float_encoder_refuses_what_it_cannot_write_exactly(value):
    with pytest.raises(ValueError):
        encode_float(Decimal(value))


def test_every_sfloat_word_decodes_and_every_plain_one_reencodes_to_itself():
    for word in range(0x10000):
        value = decode_sfloat(word)
        if isinstance(value, Special):
            assert encode_sfloat(value) == word
            continue
        mantissa = word & 0x0FFF
        mantissa = mantissa - 0x1000 if mantissa & 0x800 else mantissa
        if abs(mantissa) <= SFLOAT_MANTISSA_MAX:
            assert encode_sfloat(value) == word, hex(word)


def test_out_of_range_words_are_programming_errors():
    with pytest.raises(ValueError):
        decode_sfloat(0x10000)
    with pytest.raises(ValueError):
        decode_float(-1)


@settings(max_examples=300, deadline=None)
@given(st.integers(-SFLOAT_MANTISSA_MAX, SFLOAT_MANTISSA_MAX), st.integers(-8, 7))
def test_sfloat_round_trip_keeps_value_and_exponent(mantissa, exponent):
    value = Decimal(mantissa).scaleb(exponent)
    assert same(decode_sfloat(encode_sfloat(value)), value)


@settings(max_examples=300, deadline=None)
@given(st.integers(-FLOAT_MANTISSA_MAX, FLOAT_MANTISSA_MAX), st.integers(-128, 127))
def test_float_round_trip_keeps_value_and_exponent(mantissa, exponent):
    value = Decimal(mantissa).scaleb(exponent)
    assert same(decode_float(encode_float(value)), value)


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 0xFFFFFFFF))
def test_any_float_word_decodes_to_a_decimal_or_a_marker(word):
    assert isinstance(decode_float(word), (Decimal, Special))


def test_floats_are_encoded_by_their_shortest_repr_not_their_binary_expansion():
    # Simulators write 36.6, meaning Decimal('36.6'), not 36.60000000000000142...
    assert encode_sfloat(36.6) == encode_sfloat(Decimal("36.6")) == 0xF16E
    assert encode_float(98.6) == 0xFF0003DA
