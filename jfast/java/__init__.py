"""Java itself: java's command-line grammar (cmdline), finding the real java
and its JDK (jdk), reading members of a jar (jarfile), the files of jfast's
agent and where they come from (agentfiles), what jfast and its agent say
to each other (protocol), the user's file of ready points per program
(readyfile), and the probe of whether a restored run is a fresh run on a
JDK (jdkprobe).

May import: the base modules and linux/.
"""
