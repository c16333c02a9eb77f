"""ATT access control for the emulated wearable's GATT server (docs/link.md, "Who may
read and write what").

Bumble's GATT server (``bumble.gatt_server.Server``) does not check whether an attribute
may be written at all, and several of its request handlers send nothing back when an
attribute's value callback refuses or is missing (the peer then waits out its 30 s ATT
timeout). :class:`AttGuard` sits in front of it: it takes over the server's
``on_gatt_pdu`` and answers every request whose outcome depends on an attribute's access
rules itself, leaving the rest (MTU exchange, Find Information, Read By Group Type,
confirmations) to Bumble.

The rules, for every attribute the server holds (ours and the services Bumble adds):

* A characteristic value is readable when its permissions say ``READABLE`` *and* its
  properties include Read; writable when its permissions say ``WRITEABLE`` and its
  properties include a write (Write, Write Without Response, Signed Write). Any other
  attribute (declarations, descriptors) follows its permissions alone.
* A read of an unreadable attribute gets *Read Not Permitted* (0x02), a write of an
  unwritable one *Write Not Permitted* (0x03), checked before the link's security, so an
  unbonded central learns nothing more.
* Every write, whatever the attribute (descriptors included), and every read the
  attribute marks as needing encryption or authentication, needs a secure link: no
  encryption gives *Insufficient Encryption* (0x0F); an encrypted link that the
  ``secure`` policy refuses gives *Insufficient Authentication* (0x05).
* Every request gets exactly one response: a refused or failing value callback becomes
  its ATT error (*Unlikely Error*, 0x0E, for an unexpected failure). A Write Command
  (no response by definition) that breaks a rule is dropped silently, as the spec says.
* A request the server does not know gets *Request Not Supported* (0x06), a request
  whose parameters do not parse (truncated) *Invalid PDU* (0x04); Bumble dropped both.
  Unknown commands (opcode bit 6 set) are dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
from collections.abc import Awaitable, Callable
from typing import Any

from bumble import att, gatt
from bumble.gatt_server import (
    GATT_MAX_ATTRIBUTE_VALUE_SIZE,
    GATT_SERVER_MAX_PREPARED_WRITES,
    Server,
)

log = logging.getLogger(__name__)

SecurePolicy = Callable[[Any], bool]
"""Whether an encrypted connection is secure enough for the attributes that need it."""

_P = gatt.Characteristic.Properties
_A = att.Attribute.Permissions
_READ_SECURITY = _A.READ_REQUIRES_ENCRYPTION | _A.READ_REQUIRES_AUTHENTICATION
_WRITE_PROPERTIES = _P.WRITE | _P.WRITE_WITHOUT_RESPONSE | _P.AUTHENTICATED_SIGNED_WRITES
_O = att.Opcode
_COMMAND_FLAG = 0x40
_TO_BUMBLE = frozenset(
    {
        _O.ATT_EXCHANGE_MTU_REQUEST,
        _O.ATT_FIND_INFORMATION_REQUEST,
        _O.ATT_READ_BY_GROUP_TYPE_REQUEST,
        _O.ATT_HANDLE_VALUE_CONFIRMATION,
    }
)


def readable(attribute: att.Attribute[Any]) -> bool:
    """Whether any central may read ``attribute`` at all (security aside)."""
    if not attribute.permissions & _A.READABLE:
        return False
    if isinstance(attribute, gatt.Characteristic):
        return bool(attribute.properties & _P.READ)
    return True


def writable(attribute: att.Attribute[Any]) -> bool:
    """Whether any central may write ``attribute`` at all (security aside)."""
    if not attribute.permissions & _A.WRITEABLE:
        return False
    if isinstance(attribute, gatt.Characteristic):
        return bool(attribute.properties & _WRITE_PROPERTIES)
    return True


def needs_secure_link(attribute: att.Attribute[Any], *, write: bool) -> bool:
    """Every write needs a secure link; a read only where the attribute says so."""
    return write or bool(attribute.permissions & _READ_SECURITY)


def _connection(bearer: att.Bearer) -> Any:
    return bearer.connection if att.is_enhanced_bearer(bearer) else bearer


def _encrypted(connection: Any) -> bool:
    return bool(getattr(connection, "is_encrypted", False))


class AttGuard:
    """Enforces the access rules on ``server`` once :meth:`install` ran. ``secure``
    decides whether an encrypted connection may use the attributes that need security
    (default: encryption is enough)."""

    def __init__(self, server: Server, secure: SecurePolicy | None = None) -> None:
        self.server = server
        self.secure: SecurePolicy = secure or _encrypted
        self._bumble_on_gatt_pdu = server.on_gatt_pdu
        self._tasks: set[asyncio.Task[None]] = set()
        self._att_channel: Callable[[int, bytes], Any] | None = None
        self._requests: dict[int, Callable[[att.Bearer, Any], Awaitable[att.ATT_PDU]]] = {
            _O.ATT_READ_REQUEST: self._read,
            _O.ATT_READ_BLOB_REQUEST: self._read_blob,
            _O.ATT_READ_BY_TYPE_REQUEST: self._read_by_type,
            _O.ATT_FIND_BY_TYPE_VALUE_REQUEST: self._find_by_type_value,
            _O.ATT_READ_MULTIPLE_REQUEST: self._read_multiple,
            _O.ATT_READ_MULTIPLE_VARIABLE_REQUEST: self._read_multiple_variable,
            _O.ATT_WRITE_REQUEST: self._write,
            _O.ATT_PREPARE_WRITE_REQUEST: self._prepare_write,
            _O.ATT_EXECUTE_WRITE_REQUEST: self._execute_write,
        }

    def install(self) -> AttGuard:
        """Puts the guard in front of the server's ATT dispatch and of the ATT channel
        (where a PDU is parsed) (idempotent)."""
        if getattr(self.server, "_wearsense_att_guard", None) is None:
            self.server.on_gatt_pdu = self.on_gatt_pdu  # type: ignore[method-assign]
            self.server._wearsense_att_guard = self  # type: ignore[attr-defined]
            channels = self.server.device.l2cap_channel_manager.fixed_channels
            self._att_channel = channels.get(att.ATT_CID)
            if self._att_channel is not None:
                channels[att.ATT_CID] = self.on_att_channel
        return self

    def on_att_channel(self, connection_handle: int, pdu: bytes) -> None:
        """The ATT channel's bytes: a PDU that does not parse gets *Invalid PDU* (or
        *Request Not Supported*) instead of an exception in the stack."""
        try:
            att.ATT_PDU.from_bytes(pdu)
        except Exception:
            self._malformed(connection_handle, pdu)
            return
        assert self._att_channel is not None
        self._att_channel(connection_handle, pdu)

    def _malformed(self, connection_handle: int, pdu: bytes) -> None:
        if not pdu or pdu[0] & 1 or pdu[0] & _COMMAND_FLAG:
            return  # empty, a response (the client's business) or a command: dropped
        connection = self.server.device.lookup_connection(connection_handle)
        if connection is None:
            return
        known = pdu[0] in {int(op) for op in att.ATT_REQUESTS}
        code = att.ATT_INVALID_PDU_ERROR if known else att.ATT_REQUEST_NOT_SUPPORTED_ERROR
        error = struct.pack("<BBHB", _O.ATT_ERROR_RESPONSE, pdu[0], 0, code)
        with contextlib.suppress(Exception):
            self.server.send_gatt_pdu(connection, error)

    # -- dispatch --------------------------------------------------------------------

    def on_gatt_pdu(self, bearer: att.Bearer, att_pdu: att.ATT_PDU) -> None:
        handler = self._requests.get(att_pdu.op_code)
        if handler is not None:
            self._spawn(self._answer(bearer, att_pdu, handler))
        elif att_pdu.op_code in (_O.ATT_WRITE_COMMAND, _O.ATT_SIGNED_WRITE_COMMAND):
            self._write_command(bearer, att_pdu)
        elif att_pdu.op_code in _TO_BUMBLE:
            self._bumble_on_gatt_pdu(bearer, att_pdu)
        elif not att_pdu.op_code & _COMMAND_FLAG:  # a request nobody here knows
            error = self._error(att_pdu, 0, att.ATT_REQUEST_NOT_SUPPORTED_ERROR)
            with contextlib.suppress(Exception):
                self.server.send_response(bearer, error)

    def _spawn(self, coroutine: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _answer(
        self,
        bearer: att.Bearer,
        pdu: Any,
        handler: Callable[[att.Bearer, Any], Awaitable[att.ATT_PDU]],
    ) -> None:
        """Runs ``handler`` and sends its response, or the error it ended with."""
        response: att.ATT_PDU
        try:
            response = await handler(bearer, pdu)
        except att.ATT_Error as error:
            response = self._error(pdu, error.att_handle, error.error_code)
        except Exception:
            log.exception("ATT request %s failed", pdu.name)
            response = self._error(
                pdu, getattr(pdu, "attribute_handle", 0), att.ATT_UNLIKELY_ERROR_ERROR
            )
        try:
            self.server.send_response(bearer, response)
        except Exception as exc:  # the link went while we answered
            log.debug("ATT response not sent: %s", exc)

    @staticmethod
    def _error(pdu: Any, handle: int, code: int) -> att.ATT_PDU:
        return att.ATT_Error_Response(
            request_opcode_in_error=pdu.op_code,
            attribute_handle_in_error=handle,
            error_code=code,
        )

    # -- the rules -------------------------------------------------------------------

    def _attribute(self, handle: int) -> att.Attribute[Any]:
        attribute = self.server.get_attribute(handle)
        if attribute is None:
            raise att.ATT_Error(att.ATT_INVALID_HANDLE_ERROR, att_handle=handle)
        return attribute

    def check(self, bearer: att.Bearer, attribute: att.Attribute[Any], *, write: bool) -> None:
        """Raises the ATT error a central gets for this access, if any."""
        allowed = writable(attribute) if write else readable(attribute)
        if not allowed:
            code = att.ATT_WRITE_NOT_PERMITTED_ERROR if write else att.ATT_READ_NOT_PERMITTED_ERROR
            raise att.ATT_Error(code, att_handle=attribute.handle)
        if needs_secure_link(attribute, write=write):
            connection = _connection(bearer)
            if not _encrypted(connection):
                raise att.ATT_Error(att.ATT_INSUFFICIENT_ENCRYPTION_ERROR, attribute.handle)
            if not self.secure(connection):
                raise att.ATT_Error(att.ATT_INSUFFICIENT_AUTHENTICATION_ERROR, attribute.handle)

    async def _value(self, bearer: att.Bearer, attribute: att.Attribute[Any]) -> bytes:
        """The checked value of ``attribute``; a failing read callback is an ATT error."""
        self.check(bearer, attribute, write=False)
        try:
            return bytes(await attribute.read_value(bearer))
        except att.ATT_Error as error:
            raise att.ATT_Error(error.error_code, att_handle=attribute.handle) from error
        except Exception as exc:
            log.warning("read of handle 0x%04X failed: %r", attribute.handle, exc)
            raise att.ATT_Error(att.ATT_UNLIKELY_ERROR_ERROR, attribute.handle) from exc

    async def _store(self, bearer: att.Bearer, attribute: att.Attribute[Any], value: bytes) -> None:
        """Writes ``value`` after the checks; a failing write callback is an ATT error."""
        self.check(bearer, attribute, write=True)
        if len(value) > GATT_MAX_ATTRIBUTE_VALUE_SIZE:
            raise att.ATT_Error(att.ATT_INVALID_ATTRIBUTE_LENGTH_ERROR, attribute.handle)
        try:
            await attribute.write_value(bearer, value)
        except att.ATT_Error as error:
            raise att.ATT_Error(error.error_code, att_handle=attribute.handle) from error
        except Exception as exc:
            log.warning("write of handle 0x%04X failed: %r", attribute.handle, exc)
            raise att.ATT_Error(att.ATT_UNLIKELY_ERROR_ERROR, attribute.handle) from exc

    def _in_range(self, pdu: Any) -> list[att.Attribute[Any]]:
        start, end = pdu.starting_handle, pdu.ending_handle
        if start == 0 or start > end:
            raise att.ATT_Error(att.ATT_INVALID_HANDLE_ERROR, att_handle=start)
        return [a for a in self.server.attributes if start <= a.handle <= end]

    # -- reads -----------------------------------------------------------------------

    async def _read(self, bearer: att.Bearer, pdu: att.ATT_Read_Request) -> att.ATT_PDU:
        value = await self._value(bearer, self._attribute(pdu.attribute_handle))
        return att.ATT_Read_Response(attribute_value=value[: bearer.att_mtu - 1])

    async def _read_blob(self, bearer: att.Bearer, pdu: att.ATT_Read_Blob_Request) -> att.ATT_PDU:
        value = await self._value(bearer, self._attribute(pdu.attribute_handle))
        if pdu.value_offset > len(value):
            raise att.ATT_Error(att.ATT_INVALID_OFFSET_ERROR, att_handle=pdu.attribute_handle)
        part = value[pdu.value_offset : pdu.value_offset + bearer.att_mtu - 1]
        return att.ATT_Read_Blob_Response(part_attribute_value=part)

    async def _read_by_type(
        self, bearer: att.Bearer, pdu: att.ATT_Read_By_Type_Request
    ) -> att.ATT_PDU:
        space = bearer.att_mtu - 2
        size = min(bearer.att_mtu - 4, 253)
        found: list[tuple[int, bytes]] = []
        for attribute in self._in_range(pdu):
            if attribute.type != pdu.attribute_type:
                continue
            try:
                value = (await self._value(bearer, attribute))[:size]
            except att.ATT_Error:
                if found:  # return what precedes the first refused attribute
                    break
                raise
            if found and len(value) != len(found[0][1]):
                break
            if space < 2 + len(value):
                break
            found.append((attribute.handle, value))
            space -= 2 + len(value)
        if not found:
            raise att.ATT_Error(att.ATT_ATTRIBUTE_NOT_FOUND_ERROR, att_handle=pdu.starting_handle)
        return att.ATT_Read_By_Type_Response(
            length=2 + len(found[0][1]),
            attribute_data_list=b"".join(struct.pack("<H", h) + v for h, v in found),
        )

    async def _find_by_type_value(
        self, bearer: att.Bearer, pdu: att.ATT_Find_By_Type_Value_Request
    ) -> att.ATT_PDU:
        room = (bearer.att_mtu - 1) // 4
        found: list[bytes] = []
        for attribute in self._in_range(pdu):
            if len(found) >= room:
                break
            if attribute.type != pdu.attribute_type:
                continue
            try:  # only values this central may read take part
                value = await self._value(bearer, attribute)
            except att.ATT_Error:
                continue
            if value != pdu.attribute_value:
                continue
            end = attribute.handle
            if isinstance(attribute, gatt.Service | gatt.CharacteristicDeclaration):
                end = attribute.end_group_handle or attribute.handle
            found.append(struct.pack("<HH", attribute.handle, end))
        if not found:
            raise att.ATT_Error(att.ATT_ATTRIBUTE_NOT_FOUND_ERROR, att_handle=pdu.starting_handle)
        return att.ATT_Find_By_Type_Value_Response(handles_information_list=b"".join(found))

    async def _read_multiple(
        self, bearer: att.Bearer, pdu: att.ATT_Read_Multiple_Request
    ) -> att.ATT_PDU:
        values = [
            await self._value(bearer, self._attribute(handle)) for handle in pdu.set_of_handles
        ]
        return att.ATT_Read_Multiple_Response(set_of_values=b"".join(values)[: bearer.att_mtu - 1])

    async def _read_multiple_variable(
        self, bearer: att.Bearer, pdu: att.ATT_Read_Multiple_Variable_Request
    ) -> att.ATT_PDU:
        space = bearer.att_mtu - 1
        tuples: list[tuple[int, bytes]] = []
        for handle in pdu.set_of_handles:
            value = await self._value(bearer, self._attribute(handle))
            if space <= 0:
                continue  # every handle is still checked; the response is full
            part = value[: max(0, min(space - 2, len(value)))]
            tuples.append((len(value), part))
            space -= 2 + len(part)
        return att.ATT_Read_Multiple_Variable_Response(length_value_tuple_list=tuples)

    # -- writes ----------------------------------------------------------------------

    async def _write(self, bearer: att.Bearer, pdu: att.ATT_Write_Request) -> att.ATT_PDU:
        await self._store(bearer, self._attribute(pdu.attribute_handle), pdu.attribute_value)
        return att.ATT_Write_Response()

    def _write_command(self, bearer: att.Bearer, pdu: Any) -> None:
        """No response, ever: a write that breaks a rule is dropped."""
        attribute = self.server.get_attribute(getattr(pdu, "attribute_handle", 0))
        if attribute is None or pdu.op_code != _O.ATT_WRITE_COMMAND:
            return  # signed writes are not supported: dropped
        try:
            self.check(bearer, attribute, write=True)
        except att.ATT_Error as error:
            log.debug(
                "write command to 0x%04X dropped (0x%02X)", attribute.handle, error.error_code
            )
            return
        self._spawn(self._command(bearer, attribute, pdu.attribute_value))

    async def _command(
        self, bearer: att.Bearer, attribute: att.Attribute[Any], value: bytes
    ) -> None:
        try:
            await self._store(bearer, attribute, value)
        except att.ATT_Error as error:
            log.debug(
                "write command to 0x%04X refused (0x%02X)", attribute.handle, error.error_code
            )

    async def _prepare_write(
        self, bearer: att.Bearer, pdu: att.ATT_Prepare_Write_Request
    ) -> att.ATT_PDU:
        attribute = self._attribute(pdu.attribute_handle)
        self.check(bearer, attribute, write=True)
        queue = self.server.prepared_writes.setdefault(bearer, [])
        if len(queue) >= GATT_SERVER_MAX_PREPARED_WRITES:
            raise att.ATT_Error(att.ATT_PREPARE_QUEUE_FULL_ERROR, att_handle=attribute.handle)
        queue.append((pdu.attribute_handle, pdu.value_offset, pdu.part_attribute_value))
        return att.ATT_Prepare_Write_Response(
            attribute_handle=pdu.attribute_handle,
            value_offset=pdu.value_offset,
            part_attribute_value=pdu.part_attribute_value,
        )

    async def _execute_write(
        self, bearer: att.Bearer, pdu: att.ATT_Execute_Write_Request
    ) -> att.ATT_PDU:
        queue = self.server.prepared_writes.pop(bearer, [])
        if pdu.flags == 0:  # cancel
            return att.ATT_Execute_Write_Response()
        values: dict[int, bytearray] = {}
        for handle, offset, part in queue:
            buffer = values.setdefault(handle, bytearray())
            if offset > len(buffer):
                raise att.ATT_Error(att.ATT_INVALID_OFFSET_ERROR, att_handle=handle)
            buffer[offset : offset + len(part)] = part
            if len(buffer) > GATT_MAX_ATTRIBUTE_VALUE_SIZE:
                raise att.ATT_Error(att.ATT_INVALID_ATTRIBUTE_LENGTH_ERROR, att_handle=handle)
        attributes = {handle: self._attribute(handle) for handle in values}
        for attribute in attributes.values():  # all or nothing: check before any write
            self.check(bearer, attribute, write=True)
        for handle, value in values.items():
            await self._store(bearer, attributes[handle], bytes(value))
        return att.ATT_Execute_Write_Response()


def install(server: Server, secure: SecurePolicy | None = None) -> AttGuard:
    """Guards ``server`` (see the module's docstring); returns the guard."""
    existing = getattr(server, "_wearsense_att_guard", None)
    if isinstance(existing, AttGuard):
        if secure is not None:
            existing.secure = secure
        return existing
    return AttGuard(server, secure).install()
