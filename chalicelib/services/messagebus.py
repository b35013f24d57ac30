"""The in-process message bus: services record what happened; listeners registered in `bootstrap` react.

`publish` hands a message to every listener of its type, after the write it describes has landed; a
listener that fails is logged and never fails the write (the change has happened). `ask` hands a command
to its one handler and returns the answer; its errors are the caller's.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

from chalicelib.domain.messages import Command, Message

log = logging.getLogger("onair.bus")

M = TypeVar("M", bound=Message)
C = TypeVar("C", bound=Command)


class MessageBus:
    """Who listens to what, and the one way messages reach them."""

    def __init__(self) -> None:
        self._listeners: dict[type[Message], list[Callable[[Any], None]]] = {}
        self._handlers: dict[type[Command], Callable[[Any], Any]] = {}

    def subscribe(self, kind: type[M], listener: Callable[[M], None]) -> None:
        """Call `listener` with every message of exactly this type, in the order subscribed."""
        self._listeners.setdefault(kind, []).append(listener)

    def answer(self, kind: type[C], handler: Callable[[C], Any]) -> None:
        """Make `handler` the one that answers commands of this type."""
        if kind in self._handlers:
            raise ValueError(f"{kind.__name__} already has a handler")
        self._handlers[kind] = handler

    def publish(self, message: Message) -> None:
        """Hand `message` to its listeners; one that fails is logged, the rest still hear it."""
        for listener in self._listeners.get(type(message), []):
            try:
                listener(message)
            except Exception:
                log.exception(
                    "a listener failed",
                    extra={"message": type(message).__name__, "listener": _name(listener)},
                )

    def ask(self, command: Command) -> Any:
        """Have the command's handler act on it and return its answer."""
        return self._handlers[type(command)](command)

    def listeners(self, kind: type[Message]) -> list[str]:
        """Names of the listeners of a message type (for tests and docs)."""
        return [_name(listener) for listener in self._listeners.get(kind, [])]


def _name(listener: Callable[..., Any]) -> str:
    owner = getattr(listener, "__self__", None)
    method = getattr(listener, "__name__", repr(listener))
    return f"{type(owner).__name__}.{method}" if owner is not None else method
