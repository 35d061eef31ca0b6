"""Server-side rendering of Plotly figure dicts to PNG with Kaleido and the system Chromium.

One :class:`Renderer` per process keeps one headless Chromium (one Kaleido tab) open, so an
image costs ~0.2–0.5 s after the first instead of a browser start each time (~3 s).

Why not ``kaleido.start_sync_server``
    It is the same idea (one ``Kaleido(n=1)`` on an event loop in a daemon thread), but its
    calls wait on a bare ``Queue.join()``: when Chromium is missing or crashes the server
    thread dies and every later call blocks forever, and two Flask threads calling at once
    share one return queue and can receive each other's image. Here the loop thread is ours,
    each call gets its own future with a timeout, and errors surface as
    :class:`ExportUnavailable` with one readable line.

Offline by construction
    * ``mathjax=False`` and ``plotlyjs`` = the ``plotly.min.js`` shipped with plotly.py, a
      ``file://`` URL: Kaleido's page loads nothing from a CDN.
    * Map figures are MapLibre (``*map``) traces on :func:`layouts.figures.maps.offline_style`;
      their ``glyphs`` URL is pointed at a folder of glyph PBFs written here from the CJK font
      (:meth:`Renderer.glyphs_url`), again ``file://``. CJK ideographs are drawn by MapLibre
      from the local system font; Latin letters and digits need the PBFs.
    * :func:`assert_offline` refuses a figure that mentions any ``http(s)`` URL other than
      localhost (or an explicitly allowed internal tile host) before it reaches the browser.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import threading
from collections.abc import Iterable
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

__all__ = [
    "ExportUnavailable",
    "Renderer",
    "assert_offline",
    "find_browser",
    "get_renderer",
    "shutdown_renderer",
]

#: Seconds one image may take before the export is given up (maps: 3–6 s on 2 cores).
RENDER_TIMEOUT = 90.0
#: Seconds to wait for Chromium to start.
START_TIMEOUT = 60.0
_BROWSER_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
_LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}


class ExportUnavailable(RuntimeError):
    """Images cannot be rendered here (no Chromium, browser crashed, render timed out)."""


def find_browser() -> str | None:
    """Path of the Chromium/Chrome Kaleido will use, or None.

    ``BROWSER_PATH`` wins (Kaleido honours it too); otherwise the usual names on ``PATH``.
    """
    explicit = os.environ.get("BROWSER_PATH")
    if explicit:
        return explicit if Path(explicit).exists() else None
    for name in _BROWSER_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def _local_plotlyjs() -> Path:
    import plotly

    path = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    if not path.is_file():
        # Kaleido would silently fall back to the CDN; an offline export must not.
        raise ExportUnavailable(f"plotly.min.js not found at {path}; reinstall plotly")
    return path


# ---------------------------------------------------------------------------------------
# Offline check


def _strings(obj: Any) -> Iterable[str]:
    if isinstance(obj, str):
        yield obj
    elif isinstance(obj, dict):
        for k, v in obj.items():
            yield str(k)
            yield from _strings(v)
    elif isinstance(obj, list | tuple):
        for v in obj:
            yield from _strings(v)


def external_urls(fig: Any, allowed_hosts: Iterable[str] = ()) -> list[str]:
    """Every ``http(s)://`` URL in a figure dict whose host is not local or allowed."""
    allowed = _LOCAL_HOSTS | {h for h in allowed_hosts if h}
    found = []
    for text in _strings(fig):
        low = text.lower()
        start = 0
        while True:
            i = low.find("http", start)
            if i < 0:
                break
            start = i + 4
            if not (low.startswith("http://", i) or low.startswith("https://", i)):
                continue
            url = text[i:].split()[0].strip("\"'<>)")
            host = urlsplit(url).hostname or ""
            if host not in allowed:
                found.append(url)
    return found


def assert_offline(fig: Any, allowed_hosts: Iterable[str] = ()) -> None:
    """Raise :class:`ExportUnavailable` if the figure would make the browser go online.

    Parameters
    ----------
    fig : dict
        A Plotly figure dict (data, layout, map style …).
    allowed_hosts : iterable of str
        Hosts besides localhost that may be fetched, e.g. the internal tile server of
        ``SHIYU_TILES_URL``.
    """
    urls = external_urls(fig, allowed_hosts)
    if urls:
        raise ExportUnavailable(
            "导出图形引用了外部网址，已拒绝渲染 / figure references external URLs: "
            + ", ".join(sorted(set(urls))[:5])
        )


# ---------------------------------------------------------------------------------------
# Renderer


class Renderer:
    """A persistent Kaleido (one Chromium tab) on its own event-loop thread.

    Parameters
    ----------
    font_path : str
        CJK font for the map glyph PBFs (Noto Sans CJK from ``fonts-noto-cjk``).
    work_dir : str or Path, optional
        Where the glyph folder goes; a private temporary folder by default.
    allowed_hosts : iterable of str
        Extra hosts figures may reference (internal tile server).
    timeout : float
        Seconds per image.
    """

    def __init__(
        self,
        font_path: str,
        *,
        work_dir: str | Path | None = None,
        allowed_hosts: Iterable[str] = (),
        timeout: float = RENDER_TIMEOUT,
    ) -> None:
        self.font_path = str(font_path)
        self.allowed_hosts = tuple(allowed_hosts)
        self.timeout = timeout
        self._work_dir = Path(work_dir) if work_dir else None
        self._tmp: Any = None
        self._lock = threading.Lock()
        self._glyph_lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._kaleido: Any = None
        self._stop: asyncio.Event | None = None
        self._glyph_ranges: set[int] = set()
        self.browser: str | None = None
        self.images = 0

    # -- lifecycle -----------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._kaleido is not None and self._thread is not None and self._thread.is_alive()

    def start(self) -> Renderer:
        """Start Chromium (idempotent). Raises :class:`ExportUnavailable` when it cannot."""
        with self._lock:
            if self.running:
                return self
            self.browser = find_browser()
            if self.browser is None:
                raise ExportUnavailable(
                    "未找到 Chromium 浏览器，无法导出图片：请安装 chromium（apt-get install chromium）"
                    "或设置 BROWSER_PATH / Chromium not found"
                )
            plotlyjs = _local_plotlyjs()
            ready: threading.Event = threading.Event()
            failure: list[BaseException] = []

            async def serve() -> None:
                import kaleido

                self._stop = asyncio.Event()
                try:
                    k = kaleido.Kaleido(
                        n=1, mathjax=False, plotlyjs=str(plotlyjs), timeout=self.timeout
                    )
                    async with k:
                        self._kaleido = k
                        ready.set()
                        await self._stop.wait()
                except BaseException as exc:  # noqa: BLE001 - reported to the caller
                    failure.append(exc)
                finally:
                    self._kaleido = None
                    ready.set()

            loop = asyncio.new_event_loop()
            self._loop = loop
            self._thread = threading.Thread(
                target=loop.run_until_complete,
                args=(serve(),),
                name="shiyu-kaleido",
                daemon=True,
            )
            self._thread.start()
            if not ready.wait(START_TIMEOUT) or failure or self._kaleido is None:
                reason = f"{type(failure[0]).__name__}: {failure[0]}" if failure else "timeout"
                raise ExportUnavailable(
                    f"无法启动 Chromium 渲染图片 / cannot start Chromium for export ({reason})"
                )
            return self

    def close(self) -> None:
        """Stop Chromium and the loop thread (safe to call twice)."""
        with self._lock:
            loop, stop, thread = self._loop, self._stop, self._thread
            if loop is not None and stop is not None and thread is not None and thread.is_alive():
                loop.call_soon_threadsafe(stop.set)
                thread.join(timeout=30)
            self._loop = self._thread = self._stop = None
            self._kaleido = None
            if self._tmp is not None:
                self._tmp.cleanup()
                self._tmp = None
                self._glyph_ranges.clear()

    # -- glyphs --------------------------------------------------------------------------

    def _glyph_dir(self) -> Path:
        if self._work_dir is not None:
            path = self._work_dir / "glyphs"
        else:
            if self._tmp is None:
                import tempfile

                self._tmp = tempfile.TemporaryDirectory(prefix="shiyu-export-")
            path = Path(self._tmp.name) / "glyphs"
        path.mkdir(parents=True, exist_ok=True)
        return path

    def glyphs_url(self, texts: Iterable[str] = ()) -> str:
        """A ``file://`` glyph URL template with every range ``texts`` need written to disk.

        MapLibre asks for one PBF per 256 code points and font stack. Ranges of CJK
        ideographs are drawn from the local font by MapLibre itself and are skipped.
        """
        from dashboard.glyphs import render_glyph_range

        needed = {0}
        for text in texts:
            for ch in str(text):
                cp = ord(ch)
                if not (0x3400 <= cp <= 0x9FFF or 0xF900 <= cp <= 0xFAFF) and cp <= 0xFFFF:
                    needed.add(cp // 256 * 256)
        root = self._glyph_dir()
        with self._glyph_lock:
            for start in sorted(needed - self._glyph_ranges):
                payload = render_glyph_range(self.font_path, start, fontstack="Shiyu CJK")
                # MapLibre may ask for any font stack name; Plotly sends "Open Sans Regular".
                for stack in ("Open Sans Regular", "Open Sans Bold", "Noto Sans Regular"):
                    folder = root / stack
                    folder.mkdir(exist_ok=True)
                    (folder / f"{start}-{start + 255}.pbf").write_bytes(payload)
                self._glyph_ranges.add(start)
        return root.as_uri() + "/{fontstack}/{range}.pbf"

    # -- rendering -----------------------------------------------------------------------

    def png(self, fig: dict[str, Any], width: int, height: int, scale: float = 2) -> bytes:
        """Render a figure dict to PNG bytes of ``width*scale × height*scale`` pixels.

        Parameters
        ----------
        fig : dict
            Plotly figure dict from :mod:`layouts.figures`.
        width, height : int
            Layout size in CSS pixels.
        scale : float
            Device pixel ratio (2 for the 2× images of briefings).

        Raises
        ------
        ExportUnavailable
            The figure references external URLs, Chromium is missing or the render failed.
        """
        assert_offline(fig, self.allowed_hosts)
        if not self.running:
            self.start()
        assert self._loop is not None
        opts = {"format": "png", "width": int(width), "height": int(height), "scale": scale}
        future = asyncio.run_coroutine_threadsafe(
            self._kaleido.calc_fig(fig, opts=opts), self._loop
        )
        try:
            data = future.result(timeout=self.timeout + 5)
        except FutureTimeout:
            future.cancel()
            raise ExportUnavailable(
                f"图片渲染超时（{self.timeout:.0f}秒）/ render timed out"
            ) from None
        except Exception as exc:  # noqa: BLE001 - one line for the user, chained for logs
            raise ExportUnavailable(
                f"图片渲染失败 / render failed: {type(exc).__name__}: {exc}"
            ) from exc
        self.images += 1
        return bytes(data)


_DEFAULT: Renderer | None = None
_DEFAULT_LOCK = threading.Lock()


def get_renderer(font_path: str, allowed_hosts: Iterable[str] = ()) -> Renderer:
    """The process-wide renderer (started lazily on first image).

    A browser per process is the point of the exercise, so this one object is shared; it holds
    no user state, only the Chromium handle and the glyph folder.
    """
    global _DEFAULT
    with _DEFAULT_LOCK:
        if _DEFAULT is None or _DEFAULT.font_path != str(font_path):
            if _DEFAULT is not None:
                _DEFAULT.close()
            _DEFAULT = Renderer(font_path, allowed_hosts=allowed_hosts)
        else:
            extra = tuple(h for h in allowed_hosts if h not in _DEFAULT.allowed_hosts)
            _DEFAULT.allowed_hosts += extra
        return _DEFAULT


def shutdown_renderer() -> None:
    """Close the process-wide renderer (tests, benchmarks, CLI exit)."""
    global _DEFAULT
    with _DEFAULT_LOCK:
        if _DEFAULT is not None:
            _DEFAULT.close()
            _DEFAULT = None
