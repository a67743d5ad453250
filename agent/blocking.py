"""BlockingAutoProctor: the same lifecycle for plain (non-async) scripts."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any

from agent.events import Listener
from agent.lifecycle import AutoProctor, State

LOOP_THREAD_NAME = "autoproctor-loop"


class BlockingAutoProctor:
    """Runs an AutoProctor on an event loop in a background thread; methods block until done.

    Listeners run on that background thread.
    """

    def __init__(self, **kwargs: Any) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name=LOOP_THREAD_NAME, daemon=True)
        self._thread.start()
        self.instance = AutoProctor(**kwargs)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_forever()
        finally:
            # Join aiortc's encoder threads (the default executor) before the loop goes away.
            self._loop.run_until_complete(self._loop.shutdown_default_executor())
            self._loop.close()

    def _call(self, coro: Coroutine[Any, Any, Any], timeout: float | None = None) -> Any:
        if not self._thread.is_alive():
            coro.close()
            raise RuntimeError("this BlockingAutoProctor was destroyed")
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    @property
    def state(self) -> State:
        return self.instance.state

    def on(self, name: str, listener: Listener) -> None:
        self.instance.on(name, listener)

    def setup(self, options: dict[str, Any] | None = None) -> None:
        self._call(self.instance.setup(options))

    def start(self) -> dict[str, Any]:
        return self._call(self.instance.start())

    def stop(self) -> dict[str, Any]:
        return self._call(self.instance.stop())

    def destroy(self) -> None:
        """Destroy the instance and end the background loop; safe to call more than once."""
        if not self._thread.is_alive():
            return
        try:
            self._call(self.instance.destroy())
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join()

    def __enter__(self) -> BlockingAutoProctor:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.destroy()
