"""A cold run: the program started in its sandbox with the agent, watched for
its ready points (warmup, readypoints), checkpointed there and published,
with the files it read before them recorded (inputs).

May import: everything below the launcher (base, linux/, java/, store/,
sandbox/, criu/, display/); not warm/.
"""
