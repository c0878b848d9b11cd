#!/usr/bin/env python3
"""
A SunSpec device on Modbus TCP or Modbus RTU (serial) for the tests of the HEM's `sunspec`
adapter, served by pymodbus (an implementation independent of the adapter's Modbus library).

Usage: sunspecServer.py '<json>'   with json = {"unit": 1, "port": 0, "registers": {"40000": 21365, ...}}
                                   or, for RTU, {"unit": 1, "serial": {"path": "/dev/…", "baudRate": 9600,
                                   "parity": "none", "dataBits": 8, "stopBits": 1}, "registers": {...}}
  - serves exactly the holding registers given (any other address answers with the
    Modbus exception ILLEGAL DATA ADDRESS, as a device does);
  - TCP: binds 127.0.0.1 on `port` (default 0: a free one) and prints one line `{"ready": <port>}`;
  - RTU: opens the serial device `serial.path` (a real port, or one end of a virtual
    serial pair) with the RTU framer and prints one line `{"ready": "<path>"}`; it answers
    only requests for its own unit id, as a device on an RS-485 bus does (any other is
    ignored: the client times out);
  - prints `{"write": <address>, "values": [...]}` for every write it accepts;
  - reads lines `{"set": <address>, "values": [...]}` on stdin and changes the map
    (the test moves power and SOC while the adapter polls);
  - exits when stdin closes.
"""
import asyncio
import json
import sys
import threading

from pymodbus.datastore import ModbusServerContext, ModbusSlaveContext, ModbusSparseDataBlock
from pymodbus.framer.rtu_framer import ModbusRtuFramer
from pymodbus.server.async_io import ModbusSerialServer, ModbusTcpServer

PARITY = {"none": "N", "even": "E", "odd": "O"}


class RecordingBlock(ModbusSparseDataBlock):
    """A sparse block that reports every write on stdout."""

    def setValues(self, address, values, use_as_default=False):  # noqa: N802 (pymodbus API)
        super().setValues(address, values, use_as_default)
        if not use_as_default:
            vals = values if isinstance(values, list) else [values]
            print(json.dumps({"write": address, "values": vals}), flush=True)


async def serve_tcp(context, spec):
    """Starts the TCP server; returns (what to print as ready, the serving task, the server)."""
    server = ModbusTcpServer(context, address=("127.0.0.1", int(spec.get("port", 0))), allow_reuse_address=True)
    task = asyncio.create_task(server.serve_forever())
    await server.serving
    return server.server.sockets[0].getsockname()[1], task, server


async def serve_rtu(context, serial):
    """Opens the serial device with the RTU framer; returns (its path, no task, the server)."""
    server = ModbusSerialServer(
        context,
        framer=ModbusRtuFramer,
        port=serial["path"],
        baudrate=int(serial.get("baudRate", 9600)),
        parity=PARITY[serial.get("parity", "none")],
        bytesize=int(serial.get("dataBits", 8)),
        stopbits=int(serial.get("stopBits", 1)),
        ignore_missing_slaves=True,
    )
    await server.start()
    if server.transport is None:  # pymodbus logs (at debug) and carries on: fail here instead
        raise SystemExit(f"cannot open serial device {serial['path']}")
    return serial["path"], None, server


def main() -> None:
    spec = json.loads(sys.argv[1])
    registers = {int(k): int(v) & 0xFFFF for k, v in spec["registers"].items()}
    block = ModbusSparseDataBlock(registers, mutable=False)
    recording = RecordingBlock(dict(registers), mutable=False)
    # zero_mode: a request for address a reads register a (no +1 shift)
    slave = ModbusSlaveContext(hr=recording, ir=block, zero_mode=True)
    context = ModbusServerContext(slaves={int(spec.get("unit", 1)): slave}, single=False)

    def read_stdin(loop: asyncio.AbstractEventLoop, stop: asyncio.Future) -> None:
        for line in sys.stdin:
            line = line.strip()
            if not line:
                continue
            cmd = json.loads(line)
            # a set from the test is not a write by the client: bypass the report
            ModbusSparseDataBlock.setValues(recording, int(cmd["set"]), [int(v) & 0xFFFF for v in cmd["values"]])
        loop.call_soon_threadsafe(lambda: stop.done() or stop.set_result(None))

    async def run() -> None:
        loop = asyncio.get_running_loop()
        serial = spec.get("serial")
        ready, task, server = await (serve_rtu(context, serial) if serial else serve_tcp(context, spec))
        print(json.dumps({"ready": ready}), flush=True)
        stop = loop.create_future()
        threading.Thread(target=read_stdin, args=(loop, stop), daemon=True).start()
        await stop
        if task is not None:
            task.cancel()
        else:
            await server.shutdown()

    asyncio.run(run())


if __name__ == "__main__":
    main()
