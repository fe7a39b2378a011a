"""The display side of a cold run (jfast/display/displayrun.py) without a
display: it changes nothing."""

from __future__ import annotations

from jfast.display.display import DisplayPlan
from jfast.display.displayrun import ColdDisplay


def test_without_a_display_the_command_is_unchanged():
    for plan in (None, DisplayPlan("none", "headless", {})):
        cold = ColdDisplay(plan, "auto")
        argv, env, fds = cold.spawn(["java", "App"], {"A": "1"}, {0: 0})
        assert (argv, env, fds) == (["java", "App"], {"A": "1"}, {0: 0})
        assert not cold.virtual and not cold.watching and not cold.window_ready()
        assert cold.before_dump(1) is None
        assert cold.manifest() == {"mode": "none" if plan is None else "none"}
        cold.close()
