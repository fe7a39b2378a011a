"""The sandbox a program runs or is restored in: namespaces, its PID 1,
signals and exit status (sandbox), its user namespace when jfast is not root
(userns), fds 0-2 and the relays that copy them (stdio), output recorded
before a ready point and written again on restore (replay), and the
caller's terminal across a restore (terminal).

May import: the base modules, linux/ and store/.
"""
