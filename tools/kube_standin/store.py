"""Objects in memory, one resourceVersion counter, and watches with a bounded history (410 Gone)."""

from __future__ import annotations

import asyncio
import copy
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

Obj = dict[str, Any]
Key = tuple[str, str, str]  # (resource, namespace, name)


def now() -> str:
    """RFC 3339 with seconds, as the API server writes timestamps."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Conflict(Exception):
    """The object already exists (409 AlreadyExists)."""


class Gone(Exception):
    """The requested resourceVersion is older than the history kept (410 Expired)."""


@dataclass
class WatchEvent:
    resource_version: int
    resource: str
    type: str  # ADDED, MODIFIED, DELETED
    obj: Obj
    previous: Obj | None = None  # the object before a MODIFIED change: a watch's selector judges both


@dataclass
class Subscription:
    resource: str
    queue: asyncio.Queue[WatchEvent] = field(default_factory=asyncio.Queue)


class Store:
    """Every object of every resource; a change bumps the global resourceVersion like etcd's revision."""

    def __init__(self, history: int = 5000) -> None:
        self._objects: dict[Key, Obj] = {}
        self._revision = 0
        self._history: deque[WatchEvent] = deque(maxlen=history)
        self._subscriptions: list[Subscription] = []
        self.changed = asyncio.Event()

    @property
    def revision(self) -> int:
        return self._revision

    def get(self, resource: str, namespace: str, name: str) -> Obj | None:
        obj = self._objects.get((resource, namespace, name))
        return copy.deepcopy(obj) if obj is not None else None

    def list(
        self, resource: str, namespace: str | None, match: Callable[[Obj], bool] = lambda o: True
    ) -> list[Obj]:
        return [
            copy.deepcopy(obj)
            for (kind, ns, _), obj in sorted(self._objects.items())
            if kind == resource and (namespace is None or ns == namespace) and match(obj)
        ]

    def create(self, resource: str, namespace: str, obj: Obj) -> Obj:
        meta = obj.setdefault("metadata", {})
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = meta["generateName"] + uuid.uuid4().hex[:5]
        key = (resource, namespace, meta["name"])
        if key in self._objects:
            raise Conflict(meta["name"])
        meta["namespace"] = namespace
        meta["uid"] = str(uuid.uuid4())
        meta["creationTimestamp"] = now()
        meta.setdefault("labels", {})
        meta.setdefault("annotations", {})
        self._objects[key] = obj
        self._publish(resource, "ADDED", obj)
        return copy.deepcopy(obj)

    def replace(self, resource: str, obj: Obj) -> Obj:
        """Store a new version of an existing object (status updates, patches)."""
        meta = obj["metadata"]
        key = (resource, meta["namespace"], meta["name"])
        if key not in self._objects:
            raise KeyError(key)
        previous = self._objects[key]
        self._objects[key] = obj
        self._publish(resource, "MODIFIED", obj, previous)
        return copy.deepcopy(obj)

    def update(self, resource: str, namespace: str, name: str, change: Callable[[Obj], None]) -> Obj | None:
        """Apply `change` to the stored object and publish MODIFIED; None if it is gone."""
        obj = self._objects.get((resource, namespace, name))
        if obj is None:
            return None
        new = copy.deepcopy(obj)
        change(new)
        return self.replace(resource, new)

    def delete(self, resource: str, namespace: str, name: str) -> Obj | None:
        obj = self._objects.pop((resource, namespace, name), None)
        if obj is not None:
            self._publish(resource, "DELETED", obj)
        return copy.deepcopy(obj) if obj is not None else None

    def _publish(self, resource: str, kind: str, obj: Obj, previous: Obj | None = None) -> None:
        self._revision += 1
        obj["metadata"]["resourceVersion"] = str(self._revision)
        event = WatchEvent(
            self._revision, resource, kind, copy.deepcopy(obj), copy.deepcopy(previous) if previous else None
        )
        self._history.append(event)
        for subscription in self._subscriptions:
            if subscription.resource == resource:
                subscription.queue.put_nowait(event)
        self.changed.set()
        self.changed = asyncio.Event()

    def subscribe(self, resource: str, since: int | None) -> tuple[Subscription, list[WatchEvent]]:
        """A live subscription plus the events to replay first.

        `since` None means "from now, after the current state as ADDED events" (a watch without a
        resourceVersion); a number replays every change after it, or raises Gone when it is older
        than the history kept, as etcd's compaction makes a real server answer 410.
        """
        subscription = Subscription(resource)
        if since is None:
            backlog = [
                WatchEvent(int(o["metadata"]["resourceVersion"]), resource, "ADDED", o)
                for o in self.list(resource, None)
            ]
        else:
            oldest = self._history[0].resource_version if self._history else self._revision + 1
            if since < self._revision and since + 1 < oldest:
                raise Gone(since)
            backlog = [e for e in self._history if e.resource == resource and e.resource_version > since]
        self._subscriptions.append(subscription)
        return subscription, backlog

    def unsubscribe(self, subscription: Subscription) -> None:
        self._subscriptions.remove(subscription)

    def __iter__(self) -> Iterator[Key]:
        return iter(list(self._objects))
