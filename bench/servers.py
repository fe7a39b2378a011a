"""Debian's servlet containers as the benchmark and the servers test start
them (tests/integration/test_servers.py): Jetty 9 in its own base, and
Tomcat 10 in a fresh base serving its examples webapp."""

from __future__ import annotations

from pathlib import Path

JETTY_HOME = Path("/usr/share/jetty9")
TOMCAT_HOME = Path("/usr/share/tomcat10")
TOMCAT_EXAMPLES = Path("/usr/share/tomcat10-examples/examples")
# A servlet of the examples webapp: it answers once Tomcat has deployed it.
TOMCAT_PAGE = "/examples/servlets/servlet/HelloWorldExample"

SERVER_XML = """<?xml version="1.0" encoding="UTF-8"?>
<Server port="{shutdown}" shutdown="SHUTDOWN">
  <Service name="Catalina">
    <Connector port="{port}" address="127.0.0.1" protocol="HTTP/1.1"/>
    <Engine name="Catalina" defaultHost="localhost">
      <Host name="localhost" appBase="webapps" unpackWARs="false" autoDeploy="false"/>
    </Engine>
  </Service>
</Server>
"""
# Tomcat's own one-line log format, with milliseconds.
LOGGING = """handlers = java.util.logging.ConsoleHandler
java.util.logging.ConsoleHandler.formatter = org.apache.juli.OneLineFormatter
"""


def jetty(port: int) -> list[str]:
    """java's arguments for Debian's Jetty 9 in its own base (run in
    JETTY_HOME), serving its root page on `port`."""
    return ["-jar", f"{JETTY_HOME}/start.jar", f"jetty.home={JETTY_HOME}",
            f"jetty.base={JETTY_HOME}", f"jetty.http.port={port}", "jetty.http.host=127.0.0.1"]


def tomcat(base: Path, port: int, shutdown: int) -> list[str]:
    """A Tomcat 10 instance in the new folder `base` serving the examples
    webapp on `port`, with its shutdown port as Debian configures one; java's
    arguments for it, as catalina.sh builds them."""
    for sub in ("conf", "webapps", "logs", "work", "temp"):
        (base / sub).mkdir(parents=True)
    (base / "conf" / "server.xml").write_text(SERVER_XML.format(port=port, shutdown=shutdown))
    (base / "conf" / "logging.properties").write_text(LOGGING)
    (base / "webapps" / "examples").symlink_to(TOMCAT_EXAMPLES)
    bin_dir = TOMCAT_HOME / "bin"
    return [f"-Djava.util.logging.config.file={base}/conf/logging.properties",
            "-Djava.util.logging.manager=org.apache.juli.ClassLoaderLogManager",
            f"-Dcatalina.home={TOMCAT_HOME}", f"-Dcatalina.base={base}",
            f"-Djava.io.tmpdir={base}/temp",
            "-cp", f"{bin_dir}/bootstrap.jar:{bin_dir}/tomcat-juli.jar",
            "org.apache.catalina.startup.Bootstrap", "start"]
