#!/usr/bin/env python3
"""
A SunSpec device on Modbus TCP for the tests of the HEM's `sunspec` adapter, served by
pymodbus (an implementation independent of the adapter's Modbus library).

Usage: sunspecServer.py '<json>'   with json = {"unit": 1, "port": 0, "registers": {"40000": 21365, ...}}
  - serves exactly the holding registers given (any other address answers with the
    Modbus exception ILLEGAL DATA ADDRESS, as a device does);
  - binds 127.0.0.1 on `port` (default 0: a free one) and prints one line `{"ready": <port>}`;
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
from pymodbus.server.async_io import ModbusTcpServer


class RecordingBlock(ModbusSparseDataBlock):
    """A sparse block that reports every write on stdout."""

    def setValues(self, address, values, use_as_default=False):  # noqa: N802 (pymodbus API)
        super().setValues(address, values, use_as_default)
        if not use_as_default:
            vals = values if isinstance(values, list) else [values]
            print(json.dumps({"write": address, "values": vals}), flush=True)


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
        server = ModbusTcpServer(context, address=("127.0.0.1", int(spec.get("port", 0))), allow_reuse_address=True)
        task = asyncio.create_task(server.serve_forever())
        await server.serving
        port = server.server.sockets[0].getsockname()[1]
        print(json.dumps({"ready": port}), flush=True)
        stop = loop.create_future()
        threading.Thread(target=read_stdin, args=(loop, stop), daemon=True).start()
        await stop
        task.cancel()

    asyncio.run(run())


if __name__ == "__main__":
    main()
