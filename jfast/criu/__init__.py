"""CRIU: the only module that runs it (criu: version, dump, restore, logs),
and its kernel facts kept between restores (kdat, with kdat-hook.sh).

May import: the base modules, linux/, store/ and sandbox/.
"""
