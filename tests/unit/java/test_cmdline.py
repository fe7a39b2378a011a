"""java's command-line grammar, parsed without running anything."""

from __future__ import annotations

from pathlib import Path

import pytest

from jfast.java.cmdline import ArgfileError, parse, tokenize


def test_jar_mode_takes_the_rest_as_program_arguments():
    cmd = parse(["-Xmx1g", "-jar", "app.jar", "-Dnot.jvm=1", "x"], env={}, cwd="/")
    assert (cmd.mode, cmd.target) == ("jar", "app.jar")
    assert cmd.app_args == ["-Dnot.jvm=1", "x"]
    assert cmd.classpath == ["app.jar"]
    assert cmd.options == ["-Xmx1g", "-jar"]


def test_jar_flag_then_options_then_jar_file():
    cmd = parse(["-jar", "-Dx=1", "app.jar", "a"], env={}, cwd="/")
    assert (cmd.mode, cmd.target, cmd.app_args) == ("jar", "app.jar", ["a"])


@pytest.mark.parametrize("opt", ["-cp", "-classpath", "--class-path"])
def test_classpath_options_take_a_separate_value(opt):
    cmd = parse([opt, "a.jar:lib", "com.x.Main", "1"], env={}, cwd="/")
    assert (cmd.mode, cmd.target, cmd.app_args) == ("class", "com.x.Main", ["1"])
    assert cmd.classpath == ["a.jar", "lib"]


def test_class_path_with_equals_and_classpath_env_default():
    assert parse(["--class-path=x.jar", "M"], env={}, cwd="/").classpath == ["x.jar"]
    assert parse(["M"], env={"CLASSPATH": "e.jar"}, cwd="/").classpath == ["e.jar"]
    assert parse(["M"], env={}, cwd="/").classpath == ["."]


def test_wildcard_classpath_expands_jars(tmp_path: Path):
    (tmp_path / "lib").mkdir()
    for name in ("b.jar", "a.jar", "notes.txt"):
        (tmp_path / "lib" / name).write_text("")
    cmd = parse(["-cp", "lib/*", "M"], env={}, cwd=str(tmp_path))
    assert cmd.classpath == ["lib/a.jar", "lib/b.jar"]


@pytest.mark.parametrize("argv", [["-m", "mod/com.x.Main", "a"], ["--module", "mod/com.x.Main", "a"],
                                  ["--module=mod/com.x.Main", "a"]])
def test_module_mode(argv):
    cmd = parse(["-p", "mods", *argv], env={}, cwd="/")
    assert (cmd.mode, cmd.target, cmd.app_args) == ("module", "mod/com.x.Main", ["a"])
    assert cmd.module_path == ["mods"]


def test_values_of_options_are_not_mistaken_for_the_main_class():
    cmd = parse(["--add-opens", "java.base/java.lang=ALL-UNNAMED", "--add-modules", "x",
                 "--patch-module", "m=p", "Main"], env={}, cwd="/")
    assert cmd.target == "Main"


def test_source_file_mode(tmp_path: Path):
    (tmp_path / "Hello.java").write_text("class Hello {}")
    cmd = parse(["Hello.java", "a"], env={}, cwd=str(tmp_path))
    assert (cmd.mode, cmd.target, cmd.app_args) == ("source", "Hello.java", ["a"])
    assert parse(["--source", "11", "script"], env={}, cwd="/").mode == "source"


@pytest.mark.parametrize("opt", ["-version", "--version", "-help", "--help", "-?", "-X",
                                 "--help-extra", "-XshowSettings:all", "--list-modules",
                                 "--dry-run", "-fullversion", "-showversion"])
def test_informational_invocations_pass_through(opt):
    cmd = parse([opt, "-cp", ".", "Main"], env={}, cwd="/")
    assert cmd.mode == "info" and not cmd.launchable


def test_no_main_class_passes_through():
    assert not parse(["-Xmx1g"], env={}, cwd="/").launchable
    assert not parse(["-cp"], env={}, cwd="/").launchable


def test_debugger_and_diagnostics_pass_through():
    assert not parse(["-agentlib:jdwp=transport=dt_socket", "M"], env={}, cwd="/").launchable
    assert not parse(["-verbose:class", "M"], env={}, cwd="/").launchable


def test_argfiles_expand_before_the_main_class(tmp_path: Path):
    (tmp_path / "opts").write_text('# comment\n-cp "my lib.jar"  -Dk=\'a b\'\ncom.x.Main first\n')
    cmd = parse(["@opts", "@notexpanded"], env={}, cwd=str(tmp_path))
    assert cmd.classpath == ["my lib.jar"]
    assert cmd.options == ["-cp", "my lib.jar", "-Dk=a b"]
    assert (cmd.target, cmd.app_args) == ("com.x.Main", ["first", "@notexpanded"])


def test_double_at_is_a_literal_and_disable_stops_expansion(tmp_path: Path):
    assert parse(["@@literal"], env={}, cwd=str(tmp_path)).target == "@literal"
    cmd = parse(["--disable-@files", "@x"], env={}, cwd=str(tmp_path))
    assert cmd.target == "@x"


def test_unreadable_argfile_is_an_error(tmp_path: Path):
    with pytest.raises(ArgfileError):
        parse(["@missing"], env={}, cwd=str(tmp_path))


def test_jdk_java_options_are_prepended():
    cmd = parse(["-cp", "x", "Main"], env={"JDK_JAVA_OPTIONS": "-Xss2m '-Dq=1 2'"}, cwd="/")
    assert cmd.options[:2] == ["-Xss2m", "-Dq=1 2"]
    assert cmd.argv == ["-cp", "x", "Main"]     # never rewritten


def test_tokenize_escapes_and_continuations():
    assert tokenize('"a\\tb" \'c\\\n   d\' e#f') == ["a\tb", "cd", "e#f"]
    assert tokenize("#only a comment\n") == []
