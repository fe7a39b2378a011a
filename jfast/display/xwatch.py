"""python-xlib on a sandbox's private display: the `window` ready point and
screenshots.

The display's socket lives in the sandbox's mount namespace; jfast reaches
it by path through /proc/<init>/root (jfast/display/xvfb.py). python-xlib only
connects by display name, so `open_display` hands it a socket connected to
that path. The private Xvfb runs without authorization.

The ready point is the first *application window* mapped: a top-level
window that accepts WM_DELETE_WINDOW, as frames and dialogs do (a window
manager would give it a title bar and a close button). Splash screens,
tooltips and menus do not count, so a program with a splash screen is
checkpointed at its main window.
"""

from __future__ import annotations

import socket
from contextlib import contextmanager

from Xlib import X, error
from Xlib import display as xdisplay
from Xlib import ext as xext
from Xlib.support import connect as xconnect


@contextmanager
def _connecting_to(path: str):
    """Make python-xlib's next connection go to the unix socket at `path`,
    without X extensions: none is needed here, and python-xlib 0.33 fails to
    set some up (RANDR events) on the second display a process opens."""
    saved = xconnect.get_socket, xconnect.get_auth, xext.__extensions__

    def get_socket(*_args):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(10)
        try:
            s.connect(path)
        except OSError as e:
            s.close()
            raise error.DisplayConnectionError(path, str(e)) from e
        s.settimeout(None)
        s.set_inheritable(False)
        return s

    xconnect.get_socket = get_socket
    xconnect.get_auth = lambda *_args: (b"", b"")
    xext.__extensions__ = []
    try:
        yield
    finally:
        xconnect.get_socket, xconnect.get_auth, xext.__extensions__ = saved


def open_display(path: str) -> xdisplay.Display:
    """A python-xlib Display on the X server listening at `path`."""
    with _connecting_to(path):
        return xdisplay.Display(":0")


class WindowWatch:
    """Tells when the first application window is mapped."""

    def __init__(self, path: str) -> None:
        self.d = open_display(path)
        self.root = self.d.screen().root
        self.delete_atom = self.d.intern_atom("WM_DELETE_WINDOW")
        self.root.change_attributes(event_mask=X.SubstructureNotifyMask)
        self.d.sync()
        self._candidates = [w for w in self.root.query_tree().children]

    def app_window(self) -> int | None:
        """The id of a mapped application window, or None (never blocks)."""
        try:
            while self.d.pending_events():
                ev = self.d.next_event()
                if ev.type == X.MapNotify:
                    self._candidates.append(ev.window)
            while self._candidates:
                w = self._candidates.pop(0)
                if self._is_app_window(w):
                    self._candidates.clear()
                    return w.id
        except error.ConnectionClosedError:
            return None
        return None

    def _is_app_window(self, w) -> bool:
        try:
            attrs = w.get_attributes()
            if attrs.map_state != X.IsViewable or attrs.override_redirect:
                return False
            return self.delete_atom in (w.get_wm_protocols() or [])
        except error.XError:
            return False              # gone already

    def close(self) -> None:
        try:
            self.d.close()
        except (error.ConnectionClosedError, OSError):
            pass


def app_windows(path: str) -> list[tuple[int, str]]:
    """(id, title) of the mapped application windows on the display at `path`."""
    watch = WindowWatch(path)
    try:
        found = []
        for w in watch.root.query_tree().children:
            if watch._is_app_window(w):
                try:
                    title = w.get_full_text_property(watch.d.intern_atom("_NET_WM_NAME")) \
                        or w.get_wm_name() or ""
                except error.XError:
                    title = ""
                found.append((w.id, str(title)))
        return found
    finally:
        watch.close()


def grab(path: str) -> tuple[int, int, bytes]:
    """The whole screen of the display at `path`: width, height, RGB bytes."""
    d = open_display(path)
    try:
        screen = d.screen()
        width, height = screen.width_in_pixels, screen.height_in_pixels
        image = screen.root.get_image(0, 0, width, height, X.ZPixmap, 0xFFFFFFFF)
        data = image.data if isinstance(image.data, bytes) else image.data.encode("latin-1")
        depth = image.depth
    finally:
        d.close()
    return width, height, to_rgb(data, width, height, depth)


def to_rgb(data: bytes, width: int, height: int, depth: int) -> bytes:
    """ZPixmap at 24/32 bits per pixel (little-endian BGRX) to packed RGB."""
    if depth not in (24, 32):
        raise ValueError(f"a {depth}-bit screen cannot be saved; use JFAST_SCREEN=WxHx24")
    stride = len(data) // height
    out = bytearray(width * height * 3)
    for y in range(height):
        row = data[y * stride:y * stride + width * 4]
        o = y * width * 3
        out[o:o + width * 3:3] = row[2::4]
        out[o + 1:o + width * 3:3] = row[1::4]
        out[o + 2:o + width * 3:3] = row[0::4]
    return bytes(out)
