"""X11 for GUI programs: which display a program gets and its part of the key
(display), the private Xvfb (xvfb), the display side of a cold run
(displayrun), watching a private display with python-xlib (xwatch), X
connections that cross the sandbox's edge (xguard), and a small PNG writer
(png) for screenshots.

May import: the base modules, linux/, java/, store/ and sandbox/.
"""
