"""Broker -> adf -> JSONL part files with acknowledgements after commit, per broker, against a
hand-written consumer on the same client library (the floor).

    python benchmarks/brokers.py [--messages 200000] [--rounds 1] [--brokers amqp,nats,redis,mqtt]

For each broker (the local RabbitMQ, NATS JetStream, Redis and Mosquitto) a fresh queue,
stream or topic is filled with small JSON messages; then, in turn, round after round:

- ``adf``: ``adf run "src=BROKER | out=file" -o src.max_messages=N`` (part files of 1000
  records, fsynced, each acknowledged after its commit), a real process;
- ``floor``: the same client library by hand, in a process of its own: read, write and fsync a
  part file per 1000 messages, then acknowledge them (one ack per micro-batch).

The table shows the median messages/s (process start to exit, both) and the ratio
adf/floor (target >= 0.8x), with each one's peak RSS. MQTT keeps no backlog for a consumer
beyond the broker's queue limit, so there a producer process publishes while the consumer
runs, and the rate counts from start to the last message.

Memory: ``adf`` reads a backlog of N/10 and of N messages (every message already published:
a producer infinitely faster than the consumer); backpressure keeps the backlog on the
broker, so its peak RSS must not grow with it (``flat`` below: within 15%). Bytewax has no
connector for any of these brokers (its ``bytewax.connectors`` has Kafka, files, stdio and
demo inputs), so it is not in the table.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, os.path.dirname(__file__))
from _common import median, table

URLS = {"amqp": "amqp://guest:guest@127.0.0.1:5672/", "nats": "nats://127.0.0.1:4222",
        "redis": "redis://127.0.0.1:6379/0", "mqtt": "mqtt://127.0.0.1:1883"}
PORTS = {"amqp": 5672, "nats": 4222, "redis": 6379, "mqtt": 1883}
PART = 1000


def body(n: int) -> bytes:
    return json.dumps({"id": n, "sensor": f"s{n % 97}", "value": n * 0.5}).encode()


# publishing -------------------------------------------------------------------------------

async def publish_amqp(place: dict[str, str], count: int) -> None:
    import aio_pika

    connection = await aio_pika.connect(URLS["amqp"])
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        await channel.declare_queue(place["queue"], durable=True)
        for start in range(0, count, 1000):
            await asyncio.gather(*(channel.default_exchange.publish(
                aio_pika.Message(body(n)), routing_key=place["queue"])
                for n in range(start, min(count, start + 1000))))


async def publish_nats(place: dict[str, str], count: int) -> None:
    import nats

    nc = await nats.connect(URLS["nats"])
    try:
        js = nc.jetstream()
        await js.add_stream(name=place["stream"], subjects=[place["subject"]])
        for start in range(0, count, 1000):
            await asyncio.gather(*(js.publish(place["subject"], body(n))
                                   for n in range(start, min(count, start + 1000))))
    finally:
        await nc.close()


async def publish_redis(place: dict[str, str], count: int) -> None:
    import redis.asyncio as aredis

    client = aredis.Redis.from_url(URLS["redis"])
    try:
        for start in range(0, count, 1000):
            pipe = client.pipeline(transaction=False)
            for n in range(start, min(count, start + 1000)):
                pipe.xadd(place["stream"], {"data": body(n)})
            await pipe.execute()
    finally:
        await client.aclose()


async def publish_mqtt(place: dict[str, str], count: int) -> None:
    import logging

    import aiomqtt

    quiet = logging.getLogger("bench-mqtt")
    quiet.setLevel(logging.ERROR)
    async with aiomqtt.Client("127.0.0.1", 1883, max_inflight_messages=200,
                              logger=quiet) as client:
        for start in range(0, count, 200):
            await asyncio.gather(*(client.publish(place["topic"], body(n), qos=1)
                                   for n in range(start, min(count, start + 200))))


PUBLISH: dict[str, Callable[[dict[str, str], int], object]] = {
    "amqp": publish_amqp, "nats": publish_nats, "redis": publish_redis, "mqtt": publish_mqtt}


def new_place(broker: str) -> dict[str, str]:
    name = uuid.uuid4().hex[:10]
    return {"amqp": {"queue": f"adf-bench-{name}"},
            "nats": {"subject": f"adf.bench.{name}", "stream": f"adf-bench-{name}",
                     "durable": "bench"},
            "redis": {"stream": f"adf-bench-{name}", "group": "bench", "consumer": "c1"},
            "mqtt": {"topic": f"adf/bench/{name}", "client_id": f"adf-bench-{name}"},
            }[broker]


async def open_mqtt_session(place: dict[str, str]) -> None:
    import aiomqtt

    async with aiomqtt.Client("127.0.0.1", 1883, identifier=place["client_id"],
                              clean_session=False) as client:
        await client.subscribe(place["topic"], qos=1)


async def cleanup(broker: str, place: dict[str, str]) -> None:
    try:
        if broker == "amqp":
            import aio_pika

            connection = await aio_pika.connect(URLS["amqp"])
            async with connection:
                await (await connection.channel()).queue_delete(place["queue"])
        elif broker == "nats":
            import nats

            nc = await nats.connect(URLS["nats"])
            await nc.jetstream().delete_stream(place["stream"])
            await nc.close()
        elif broker == "redis":
            import redis.asyncio as aredis

            client = aredis.Redis.from_url(URLS["redis"])
            await client.delete(place["stream"])
            await client.aclose()
        else:
            import aiomqtt

            async with aiomqtt.Client("127.0.0.1", 1883, identifier=place["client_id"],
                                      clean_session=True):
                pass
    except Exception as exc:  # a benchmark leaves a stray queue rather than fail at the end
        print(f"cleanup of {place} failed: {exc}", file=sys.stderr)


# the floor: hand-written consumers ---------------------------------------------------------

class Parts:
    """Part files of PART records, fsynced, as the `file` destination writes them."""

    def __init__(self, directory: str) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.number = 0

    def write(self, bodies: list[bytes]) -> None:
        self.number += 1
        path = self.directory / f"floor-{self.number:06d}.jsonl"
        with open(path, "wb") as out:
            for raw in bodies:
                out.write(json.dumps(json.loads(raw)).encode() + b"\n")
            out.flush()
            os.fsync(out.fileno())


async def floor_amqp(place: dict[str, str], count: int, parts: Parts) -> None:
    import aio_pika

    connection = await aio_pika.connect(URLS["amqp"])
    channel = await connection.channel()
    await channel.set_qos(prefetch_count=2 * PART)
    queue = await channel.declare_queue(place["queue"], durable=True)
    inbox: asyncio.Queue[object] = asyncio.Queue()
    await queue.consume(inbox.put_nowait)
    got: list[object] = []
    for _ in range(count):
        got.append(await inbox.get())
        if len(got) == PART:
            parts.write([m.body for m in got])  # type: ignore[attr-defined]
            await got[-1].ack(multiple=True)  # type: ignore[attr-defined]
            got = []
    if got:
        parts.write([m.body for m in got])  # type: ignore[attr-defined]
        await got[-1].ack(multiple=True)  # type: ignore[attr-defined]
    await connection.close()


async def floor_nats(place: dict[str, str], count: int, parts: Parts) -> None:
    import nats
    from nats.js.api import ConsumerConfig

    nc = await nats.connect(URLS["nats"])
    js = nc.jetstream()
    sub = await js.pull_subscribe(place["subject"], durable=place["durable"],
                                  stream=place["stream"],
                                  config=ConsumerConfig(max_ack_pending=2 * PART))
    done = 0
    while done < count:
        messages = await sub.fetch(min(PART, count - done), timeout=5)
        parts.write([m.data for m in messages])
        await asyncio.gather(*(m.ack() for m in messages))
        done += len(messages)
    await nc.flush()
    await nc.close()


async def floor_redis(place: dict[str, str], count: int, parts: Parts) -> None:
    import redis.asyncio as aredis

    client = aredis.Redis.from_url(URLS["redis"])
    stream, group = place["stream"], place["group"]
    await client.xgroup_create(stream, group, id="0", mkstream=True)
    done = 0
    while done < count:
        reply = await client.xreadgroup(group, "c1", {stream: ">"},
                                        count=min(PART, count - done), block=5000)
        entries = reply[0][1]
        parts.write([fields[b"data"] for _, fields in entries])
        await client.xack(stream, group, *(entry_id for entry_id, _ in entries))
        done += len(entries)
    await client.aclose()


async def floor_mqtt(place: dict[str, str], count: int, parts: Parts) -> None:
    import aiomqtt

    client = aiomqtt.Client("127.0.0.1", 1883, identifier=place["client_id"],
                            clean_session=False)
    client._client.manual_ack_set(True)
    async with client:
        await client.subscribe(place["topic"], qos=1)
        queue = client._queue
        got: list[aiomqtt.Message] = []
        done = 0
        while done < count:
            try:
                got.append(await asyncio.wait_for(queue.get(), 2.0))
            except TimeoutError:
                break  # the broker dropped what its queue could not hold: count what came
            done += 1
            # the broker sends no more than its in-flight window unacknowledged: commit then
            if len(got) == PART or queue.empty():
                parts.write([bytes(m.payload) for m in got])  # type: ignore[arg-type]
                for m in got:
                    client._client.ack(m.mid, m.qos)
                got = []
        if got:
            parts.write([bytes(m.payload) for m in got])  # type: ignore[arg-type]
            for m in got:
                client._client.ack(m.mid, m.qos)
        await client.unsubscribe(f"adf-flush/{place['client_id']}")
    print(done)


FLOOR = {"amqp": floor_amqp, "nats": floor_nats, "redis": floor_redis, "mqtt": floor_mqtt}


# measuring ---------------------------------------------------------------------------------

def run_measured(args: list[str], cwd: str) -> tuple[float, int, str]:
    """Seconds from start to exit, peak RSS (MiB, from /proc VmHWM) and stdout."""
    started = time.perf_counter()
    proc = subprocess.Popen(args, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    peak = 0
    while proc.poll() is None:
        try:
            with open(f"/proc/{proc.pid}/status") as status:
                for line in status:
                    if line.startswith("VmHWM:"):
                        peak = max(peak, int(line.split()[1]))
        except OSError:
            pass
        time.sleep(0.05)
    seconds = time.perf_counter() - started
    out, err = proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(args[:4])} failed ({proc.returncode}): {err[-2000:]}")
    return seconds, peak // 1024, out


def adf_args(broker: str, place: dict[str, str], count: int, out: str) -> list[str]:
    options = {"url": URLS[broker], **place, "max_messages": count}
    if broker == "mqtt":
        options["idle_timeout"] = 2
    args = [sys.executable, "-m", "adf_core.cli", "run", f"src={broker} | out=file", "-q",
            "-o", f"out.path={out}/out.jsonl"]
    for key, value in options.items():
        args += ["-o", f"src.{key}={value}"]
    return args


def count_records(directory: str) -> int:
    return sum(sum(1 for _ in open(p)) for p in Path(directory).glob("*.jsonl"))


def one(broker: str, kind: str, count: int, work: str) -> tuple[float, int, int]:
    """(messages/s, peak RSS MiB, messages written) of one run of ``kind``."""
    place = new_place(broker)
    out = tempfile.mkdtemp(dir=work)
    producer = None
    try:
        if broker == "mqtt":
            asyncio.run(open_mqtt_session(place))
        else:
            asyncio.run(PUBLISH[broker](place, count))  # type: ignore[arg-type]
        if kind == "adf":
            args = adf_args(broker, place, count, out)
        else:
            args = [sys.executable, __file__, "--floor", broker, "--place", json.dumps(place),
                    "--messages", str(count), "--out", out]
        if broker == "mqtt":
            producer = subprocess.Popen([sys.executable, __file__, "--produce", broker,
                                         "--place", json.dumps(place),
                                         "--messages", str(count)])
        seconds, peak, _ = run_measured(args, work)
        if broker == "mqtt":
            seconds -= 2.0  # the idle wait that ends it
        written = count_records(out)
        return written / seconds, peak, written
    finally:
        if producer is not None:
            producer.wait()
        asyncio.run(cleanup(broker, place))


def available(broker: str) -> bool:
    import socket

    try:
        with socket.create_connection(("127.0.0.1", PORTS[broker]), timeout=0.5):
            return True
    except OSError:
        return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--brokers", default="amqp,nats,redis,mqtt")
    parser.add_argument("--floor")
    parser.add_argument("--produce")
    parser.add_argument("--place")
    parser.add_argument("--out")
    args = parser.parse_args()
    if args.floor:
        asyncio.run(FLOOR[args.floor](json.loads(args.place), args.messages, Parts(args.out)))
        return
    if args.produce:
        asyncio.run(PUBLISH[args.produce](json.loads(args.place), args.messages))  # type: ignore[arg-type]
        return
    rows = []
    memory = []
    with tempfile.TemporaryDirectory() as work:
        for broker in args.brokers.split(","):
            if not available(broker):
                rows.append([broker, "-", "-", "-", "-", "-", f"port {PORTS[broker]} closed"])
                continue
            rates: dict[str, list[float]] = {"adf": [], "floor": []}
            peaks: dict[str, list[int]] = {"adf": [], "floor": []}
            written: dict[str, int] = {}
            for _ in range(args.rounds):
                for kind in ("floor", "adf"):
                    rate, peak, done = one(broker, kind, args.messages, work)
                    rates[kind].append(rate)
                    peaks[kind].append(peak)
                    written[kind] = done
            adf, floor = median(rates["adf"]), median(rates["floor"])
            rows.append([broker, f"{args.messages:,}", f"{floor:,.0f}", f"{adf:,.0f}",
                         f"{adf / floor:.2f}x", f"{max(peaks['floor'])} / {max(peaks['adf'])}",
                         "" if written["adf"] == args.messages else
                         f"received {written['adf']:,} (adf), {written['floor']:,} (floor)"])
            if broker != "mqtt":
                small = one(broker, "adf", args.messages // 10, work)[1]
                large = max(peaks["adf"])
                memory.append([broker, f"{args.messages // 10:,}", f"{small}",
                               f"{args.messages:,}", f"{large}",
                               "flat" if large <= small * 1.15 else "GROWS"])
    print(f"broker -> adf -> JSONL part files ({PART} records each, fsynced), acknowledged "
          f"after commit; median of {args.rounds} round(s); messages/s from process start "
          "to exit")
    print(table(["BROKER", "MESSAGES", "FLOOR MSG/S", "ADF MSG/S", "ADF/FLOOR",
                 "PEAK RSS MiB floor / adf", "NOTE"], rows))
    print("target: ADF/FLOOR >= 0.80x. Bytewax: no connector for RabbitMQ, NATS, Redis "
          "Streams or MQTT (bytewax.connectors: kafka, files, stdio, demo), so no column.")
    if memory:
        print()
        print("peak RSS of adf with the whole backlog already published (a producer faster "
              "than any consumer): it stays on the broker")
        print(table(["BROKER", "BACKLOG", "PEAK RSS MiB", "BACKLOG", "PEAK RSS MiB", "RSS"],
                    memory))


if __name__ == "__main__":
    main()
