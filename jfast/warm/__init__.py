"""A warm run: a checkpoint restored into a fresh sandbox, made this run's
by its agent, and waited for like java (restore).

May import: everything below the launcher (base, linux/, java/, store/,
sandbox/, criu/, display/); not cold/.
"""
