"""The live event bus delivers across threads (in-process) and across processes (Redis pub/sub)."""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import subprocess
import sys
import threading

import pytest

from backend.providers.events import (
    InProcessBus,
    RedisBus,
    conversation_channel,
    get_event_bus,
    workspace_channel,
)
from tests.integration.helpers import free_ports, wait_until

pytestmark = pytest.mark.integration

PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(params=["in_process", "redis"])
def bus(request):
    if request.param == "in_process":
        yield InProcessBus()
        return
    bus = RedisBus(request.getfixturevalue("redis_url"))
    yield bus
    bus.close()


async def _next(events, timeout: float = 5.0):
    return await asyncio.wait_for(events.__anext__(), timeout)


def test_channel_names():
    assert workspace_channel(12) == "workspace:12"
    assert conversation_channel("7") == "conversation:7"
    with pytest.raises(ValueError):
        workspace_channel("1*")


def test_subscriber_gets_events_published_from_another_thread_filtered_by_pattern(bus):
    async def scenario():
        async with bus.subscribe("workspace:*") as events:
            def publish_elsewhere():
                bus.publish(conversation_channel(7), {"type": "message.created", "conversation_id": 7})
                bus.publish(workspace_channel(1), {"type": "draft.ready", "n": 1})
                bus.publish("workspaces-overview", {"type": "not for this pattern"})
                bus.publish(workspace_channel(2), {"type": "draft.ready", "n": 2})

            thread = threading.Thread(target=publish_elsewhere)
            thread.start()
            received = [await _next(events), await _next(events)]
            thread.join()
            with pytest.raises(asyncio.TimeoutError):
                await _next(events, timeout=0.3)
            return received

    assert asyncio.run(scenario()) == [
        ("workspace:1", {"type": "draft.ready", "n": 1}),
        ("workspace:2", {"type": "draft.ready", "n": 2}),
    ]


def test_every_subscriber_gets_its_own_copy(bus):
    async def scenario():
        async with bus.subscribe("conversation:*") as first, bus.subscribe("conversation:5") as second:
            await asyncio.to_thread(bus.publish, conversation_channel(5), {"items": [1]})
            _, one = await _next(first)
            one["items"].append("mutated")
            _, two = await _next(second)
            return two

    assert asyncio.run(scenario()) == {"items": [1]}


def test_unsubscribed_pages_stop_receiving(bus):
    async def scenario():
        async with bus.subscribe("workspace:9") as events:
            await asyncio.to_thread(bus.publish, "workspace:9", {"n": 1})
            assert (await _next(events))[1] == {"n": 1}
        # After leaving, publishing is still fine and nothing is delivered anywhere.
        bus.publish("workspace:9", {"n": 2})
        async for _ in events:
            raise AssertionError("a closed subscription yielded an event")

    asyncio.run(scenario())


def test_events_must_be_json_objects(bus):
    with pytest.raises(TypeError):
        bus.publish("workspace:1", {"when": object()})
    with pytest.raises(TypeError):
        bus.publish("workspace:1", ["not", "a", "dict"])


def test_publish_from_another_process_reaches_a_redis_subscriber(redis_url):
    bus = RedisBus(redis_url)
    publisher = (
        "import sys; from backend.providers.events import RedisBus, workspace_channel; "
        "RedisBus(sys.argv[1]).publish(workspace_channel(42), {'type': 'from-worker', 'pid': int(sys.argv[2])})"
    )

    async def scenario():
        async with bus.subscribe("workspace:*") as events:
            await asyncio.to_thread(
                subprocess.run,
                [sys.executable, "-c", publisher, redis_url, "4242"],
                cwd=PROJECT_ROOT,
                env={**os.environ, "PYTHONPATH": PROJECT_ROOT},
                check=True,
                timeout=30,
            )
            return await _next(events, timeout=10)

    assert asyncio.run(scenario()) == ("workspace:42", {"type": "from-worker", "pid": 4242})


def test_redis_databases_do_not_hear_each_other(redis_url, redis_db):
    # Pub/sub ignores DB numbers; only the channel prefix keeps two deployments on one Redis apart.
    ours = RedisBus(redis_url)
    neighbour = RedisBus(f"{redis_url.rsplit('/', 1)[0]}/{(redis_db + 1) % 16}")

    async def scenario():
        async with ours.subscribe("workspace:*") as events:
            await asyncio.to_thread(neighbour.publish, "workspace:1", {"tenant": "someone else"})
            await asyncio.to_thread(ours.publish, "workspace:1", {"tenant": "ours"})
            return await _next(events)

    assert asyncio.run(scenario()) == ("workspace:1", {"tenant": "ours"})


def test_redis_outage_is_logged_not_raised(caplog):
    (dead_port,) = free_ports(1)
    bus = RedisBus(f"redis://127.0.0.1:{dead_port}/0")
    with caplog.at_level(logging.WARNING, logger="backend.providers.events"):
        bus.publish("workspace:1", {"type": "lost hint"})
    assert "could not publish event on workspace:1" in caplog.text


def test_get_event_bus_follows_settings(configure, redis_url):
    configure(redis_url=None)
    local = get_event_bus()
    assert isinstance(local, InProcessBus)
    configure(public_url="http://elsewhere.example")
    assert get_event_bus() is local  # reloading settings must not split publishers from subscribers

    configure(redis_url=redis_url)
    remote = get_event_bus()
    assert isinstance(remote, RedisBus)
    assert get_event_bus() is remote


def _start_private_redis(port: int, workdir) -> subprocess.Popen:
    process = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(workdir)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    import redis

    wait_until(lambda: redis.Redis(port=port, socket_connect_timeout=0.2).ping(), timeout=10, what="redis-server")
    return process


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs the redis-server binary")
def test_redis_subscriber_survives_a_redis_restart(tmp_path):
    """A page's listener must come back by itself when Redis restarts, not stay deaf until a redeploy."""
    (port,) = free_ports(1)
    servers = [_start_private_redis(port, tmp_path)]
    bus = RedisBus(f"redis://127.0.0.1:{port}/0")

    async def scenario():
        async with bus.subscribe("workspace:*") as events:
            await asyncio.to_thread(bus.publish, "workspace:1", {"n": "before"})
            before = await _next(events)

            servers[0].terminate()
            servers[0].wait(timeout=10)
            servers.append(await asyncio.to_thread(_start_private_redis, port, tmp_path))

            # Reconnected, the subscription first says the pages must reload (what was published meanwhile is
            # gone); pub/sub keeps nothing for a listener still reconnecting: publish until one arrives.
            resync = await _next(events, timeout=15)
            receiver = asyncio.ensure_future(_next(events, timeout=15))
            while not receiver.done():
                await asyncio.to_thread(bus.publish, "workspace:1", {"n": "after"})
                await asyncio.sleep(0.1)
            return before, resync, receiver.result()

    try:
        assert asyncio.run(scenario()) == (("workspace:1", {"n": "before"}), ("*", {"type": "bus.resync"}),
                                           ("workspace:1", {"n": "after"}))
    finally:
        bus.close()
        for server in servers:
            server.terminate()
            server.wait(timeout=10)


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs the redis-server binary")
def test_a_message_sent_while_redis_is_down_is_stored_and_reaches_the_pages_once_it_is_back(
        tmp_path, configure, sqlite_database):
    """Redis stopped mid-send: the customer's message is stored and the send succeeds; the events Redis refused
    are published again once it answers, and a page's subscription that had to reconnect is told to reload."""
    from backend.db import session_scope
    from backend.messaging import portal
    from backend.models import Message
    from tests.unit.messaging_helpers import make_workspace

    (port,) = free_ports(1)
    servers = [_start_private_redis(port, tmp_path)]
    configure(redis_url=f"redis://127.0.0.1:{port}/0")
    bus = get_event_bus()
    biz = make_workspace()
    me = portal.identify_customer(biz.slug, "+12125550147", "Ana")

    async def scenario():
        async with bus.subscribe("*") as events:
            servers[0].terminate()
            servers[0].wait(timeout=10)
            view = await asyncio.to_thread(portal.send_customer_message, me.session_token, "Are you open today?")
            with session_scope() as session:
                assert session.get(Message, view.id).content == "Are you open today?"  # stored first
            held = bus.pending_events
            servers.append(await asyncio.to_thread(_start_private_redis, port, tmp_path))
            resync = await _next(events, timeout=20)
            await asyncio.to_thread(wait_until, lambda: bus.pending_events == 0, timeout=20,
                                    what="the held events to be published")
            return held, resync

    try:
        held, resync = asyncio.run(scenario())
    finally:
        bus.close()
        for server in servers:
            server.terminate()
            server.wait(timeout=10)
    assert held >= 1  # message.created at least, kept while Redis was away
    assert resync == ("*", {"type": "bus.resync"})
