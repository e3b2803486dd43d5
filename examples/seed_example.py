"""The example from the project's original description, corrected.

The original had three typos, fixed here:
- ``sourceB`` returned ``{'sourceA': [...]}``: it must return ``{'sourceB': [...]}``, or the
  merge never receives ``sourceB`` (and two parallel members would write one key);
- the params said ``'sourcaA': 'A'``: the sources ask for ``endpointA`` and ``endpointB``, so
  the params must be ``{'endpointA': 'A', 'endpointB': 'B'}``;
- ``zip(...)`` is a one-shot iterator: it is turned into a list so the result can be printed
  and read more than once.
"""

import asyncio
import time

from adf_core import DataFlow


async def sourceA(endpointA):
    await asyncio.sleep(0.500)
    return {"sourceA": [1, 2, 3, 4, 5, 6]}


def sourceB(endpointB):
    time.sleep(0.500)  # a plain function: runs in a worker thread, the loop stays free
    return {"sourceB": [1, 2, 3, 4, 5, 6]}


async def data_merge(sourceA: list, sourceB: list):
    return {"data": list(zip(sourceA, sourceB, strict=True))}


async def destination(data):
    await asyncio.sleep(0.500)
    return {"status": 0}


async def main():
    data_flow_source = sourceA, sourceB
    data_flow_transform = (data_merge,)
    data_flow_destination = (destination,)

    data_flow_definition = (data_flow_source,) + data_flow_transform + (data_flow_destination,)  # noqa: RUF005 - the seed's own spelling

    dataflow = DataFlow(data_flow_definition)
    params = {"endpointA": "A", "endpointB": "B"}
    return await dataflow(params)


if __name__ == "__main__":
    started = time.perf_counter()
    result = asyncio.run(main())
    print("data:", result["data"])
    print("status:", result["status"])
    print(f"took {time.perf_counter() - started:.2f} s (sources ran concurrently)")
