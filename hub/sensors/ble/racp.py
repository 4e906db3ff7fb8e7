"""Record Access Control Point (0x2A52): build requests, parse the device's answers.

This module owns the RACP byte format used to fetch stored records from a glucose
meter (and other record-keeping health devices): GSS "Record Access Control Point"
(org.bluetooth.characteristic.record_access_control_point) and the Glucose Service
(GLS) section "Record Access Control Point procedures". It does not write to the device
or wait for indications (the GATT connector does), nor parse the records themselves
(:mod:`hub.sensors.ble.parsers`).

A request is ``<op code> <operator> [<filter type> <operand...>]``; the device answers
by indication with either ``05 00 <count lo> <count hi>`` (number of stored records) or
``06 00 <request op code> <response code>``. Writing the RACP needs an authenticated
(bonded) link on most meters.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from .parsers import MalformedPayload

__all__ = [
    "OpCode",
    "Operator",
    "FilterType",
    "ResponseCode",
    "RacpRecordCount",
    "RacpResponse",
    "RacpError",
    "report_all_records",
    "report_records_from",
    "report_last_record",
    "report_number_of_records",
    "report_number_of_records_from",
    "abort_operation",
    "parse_racp_response",
    "op_name",
    "RACP",
]

RACP = "record access control point"


class OpCode(enum.IntEnum):
    """RACP op codes."""

    REPORT_STORED_RECORDS = 0x01
    DELETE_STORED_RECORDS = 0x02
    ABORT_OPERATION = 0x03
    REPORT_NUMBER_OF_STORED_RECORDS = 0x04
    NUMBER_OF_STORED_RECORDS_RESPONSE = 0x05
    RESPONSE_CODE = 0x06


class Operator(enum.IntEnum):
    """RACP operators."""

    NULL = 0x00
    ALL_RECORDS = 0x01
    LESS_THAN_OR_EQUAL = 0x02
    GREATER_THAN_OR_EQUAL = 0x03
    WITHIN_RANGE = 0x04
    FIRST_RECORD = 0x05
    LAST_RECORD = 0x06


class FilterType(enum.IntEnum):
    """RACP operand filter types (GLS)."""

    SEQUENCE_NUMBER = 0x01
    USER_FACING_TIME = 0x02


class ResponseCode(enum.IntEnum):
    """RACP response codes (in ``06 00 <op> <code>``)."""

    SUCCESS = 0x01
    OP_CODE_NOT_SUPPORTED = 0x02
    INVALID_OPERATOR = 0x03
    OPERATOR_NOT_SUPPORTED = 0x04
    INVALID_OPERAND = 0x05
    NO_RECORDS_FOUND = 0x06
    ABORT_UNSUCCESSFUL = 0x07
    PROCEDURE_NOT_COMPLETED = 0x08
    OPERAND_NOT_SUPPORTED = 0x09


def _words(member: enum.Enum) -> str:
    """An op code or response code in words: ``"report stored records"``."""
    return member.name.lower().replace("_", " ")


def op_name(op_code: int) -> str:
    """An op code in words, e.g. ``"report stored records"`` (``"op code 9"`` if unknown)."""
    try:
        return _words(OpCode(op_code))
    except ValueError:
        return f"op code {op_code}"


# --------------------------------------------------------------------------- requests


def _sequence(sequence_number: int) -> bytes:
    if not 0 <= sequence_number <= 0xFFFF:
        raise ValueError(f"sequence number must be 0..65535, not {sequence_number!r}")
    return bytes((FilterType.SEQUENCE_NUMBER,)) + sequence_number.to_bytes(2, "little")


def report_all_records() -> bytes:
    """Request every stored record: ``01 01``."""
    return bytes((OpCode.REPORT_STORED_RECORDS, Operator.ALL_RECORDS))


def report_records_from(sequence_number: int) -> bytes:
    """Request records with sequence number ≥ ``sequence_number``: ``01 03 01 <lo> <hi>``.

    :param sequence_number: the first sequence number wanted (last one stored + 1).
    :raises ValueError: not a uint16.
    """
    request = bytes((OpCode.REPORT_STORED_RECORDS, Operator.GREATER_THAN_OR_EQUAL))
    return request + _sequence(sequence_number)


def report_last_record() -> bytes:
    """Request the most recent record only: ``01 06``."""
    return bytes((OpCode.REPORT_STORED_RECORDS, Operator.LAST_RECORD))


def report_number_of_records() -> bytes:
    """Ask how many records are stored: ``04 01``."""
    return bytes((OpCode.REPORT_NUMBER_OF_STORED_RECORDS, Operator.ALL_RECORDS))


def report_number_of_records_from(sequence_number: int) -> bytes:
    """Ask how many records have sequence number ≥ ``sequence_number``: ``04 03 01 <lo> <hi>``.

    :raises ValueError: not a uint16.
    """
    request = bytes((OpCode.REPORT_NUMBER_OF_STORED_RECORDS, Operator.GREATER_THAN_OR_EQUAL))
    return request + _sequence(sequence_number)


def abort_operation() -> bytes:
    """Abort the running procedure: ``03 00``."""
    return bytes((OpCode.ABORT_OPERATION, Operator.NULL))


# --------------------------------------------------------------------------- responses


class RacpError(Exception):
    """The device refused or failed a RACP request (any code but success / no records).

    :param response: the device's answer.
    """

    def __init__(self, response: RacpResponse) -> None:
        super().__init__(f"{RACP}: {response.request_name} failed: {response.description} "
                         f"(code {response.code})")
        self.response = response


@dataclass(frozen=True, slots=True)
class RacpRecordCount:
    """``05 00 <lo> <hi>``: the number of stored records the request matched.

    :param count: number of records.
    """

    count: int


@dataclass(frozen=True, slots=True)
class RacpResponse:
    """``06 00 <request op code> <response code>``: how a request ended.

    :param request_op_code: the op code of the request this answers.
    :param code: the response code (1 success, 6 no records found, others errors).
    """

    request_op_code: int
    code: int

    @property
    def success(self) -> bool:
        """The procedure completed (all matching records were sent)."""
        return self.code == ResponseCode.SUCCESS

    @property
    def no_records_found(self) -> bool:
        """No record matched: a normal outcome, not an error."""
        return self.code == ResponseCode.NO_RECORDS_FOUND

    @property
    def is_error(self) -> bool:
        """Anything but success or no records found (reserved codes included)."""
        return not (self.success or self.no_records_found)

    @property
    def description(self) -> str:
        """The response code in words, e.g. ``"operator not supported"``."""
        try:
            return _words(ResponseCode(self.code))
        except ValueError:
            return f"reserved response code {self.code}"

    @property
    def request_name(self) -> str:
        """The request's op code in words, e.g. ``"report stored records"``."""
        return op_name(self.request_op_code)

    def raise_for_error(self) -> None:
        """Raise :class:`RacpError` when :attr:`is_error`; do nothing otherwise."""
        if self.is_error:
            raise RacpError(self)


def parse_racp_response(data: bytes) -> RacpRecordCount | RacpResponse:
    """Parse an indication of the Record Access Control Point.

    The operator byte of a response is Null (0x00) in the specification; any other value
    is tolerated and ignored. Trailing bytes are ignored.

    :param data: the indicated value.
    :returns: a :class:`RacpRecordCount` (op code 5) or a :class:`RacpResponse` (op code 6).
    :raises MalformedPayload: empty, too short, or an op code that is not a response.
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"{RACP}: expected bytes, got {type(data).__name__}")
    data = bytes(data)
    if not data:
        raise MalformedPayload(RACP, "empty payload")
    op = data[0]
    if op in (OpCode.NUMBER_OF_STORED_RECORDS_RESPONSE, OpCode.RESPONSE_CODE) and len(data) < 4:
        name = "response-code" if op == OpCode.RESPONSE_CODE else "number-of-records"
        raise MalformedPayload(RACP, f"{name} response ends at byte {len(data)}, needs 4 bytes")
    if op == OpCode.NUMBER_OF_STORED_RECORDS_RESPONSE:
        return RacpRecordCount(data[2] | data[3] << 8)
    if op == OpCode.RESPONSE_CODE:
        return RacpResponse(request_op_code=data[2], code=data[3])
    raise MalformedPayload(RACP, f"op code 0x{op:02X} is not a response (expected 0x05 or 0x06)")
