"""``make run``'s supervisor: the configuration made from the Procfile, and a crashed process
coming back while the others keep running."""

from __future__ import annotations

import configparser
import os
import signal
import subprocess
import sys
import time
import xmlrpc.client
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from supervisor.xmlrpc import SupervisorTransport

from webapp.supervise import (
    ROOT,
    Layout,
    main,
    read_dotenv,
    read_procfile,
    render_config,
    secret_problems,
)

TOKEN = "a-real-random-token-0123456789"


def parsed(text: str) -> configparser.RawConfigParser:
    config = configparser.RawConfigParser()
    config.read_string(text)
    return config


def test_the_projects_procfile_becomes_one_program_each(tmp_path: Path) -> None:
    processes = read_procfile(ROOT / "Procfile")
    assert {"rasa", "actions", "outbox", "app", "ready", "bot"} <= set(processes)
    config = parsed(render_config(processes, Layout(directory=ROOT, var_dir=tmp_path)))

    assert config["supervisord"]["nodaemon"] == "true"
    assert config["unix_http_server"]["file"] == str(tmp_path / "supervisor.sock")
    assert config["supervisord"]["pidfile"] == str(tmp_path / "supervisord.pid")
    app = config["program:app"]
    assert app["autorestart"] == "true"
    assert app["stopasgroup"] == app["killasgroup"] == "true"
    assert app["stdout_logfile"] == str(tmp_path / "log" / "app.log")
    assert app["command"].startswith("/bin/sh -c 'exec .venv/bin/uvicorn")
    ready = config["program:ready"]
    assert (ready["autorestart"], ready["stdout_logfile"]) == ("false", "/dev/stdout")
    assert str(tmp_path / "log" / "rasa.log") in config["program:logs"]["command"]


def test_the_rasa_token_is_not_on_a_command_line() -> None:
    assert "auth-token" not in (ROOT / "Procfile").read_text(encoding="utf-8")


def test_percent_signs_are_not_supervisord_expansions(tmp_path: Path) -> None:
    text = render_config({"x": "date +%s"}, Layout(directory=tmp_path, var_dir=tmp_path))
    assert parsed(text)["program:x"]["command"] == "/bin/sh -c 'exec date +%%s'"


def test_a_command_list_runs_whole(tmp_path: Path) -> None:
    text = render_config({"x": "echo hi; sleep 9"}, Layout(directory=tmp_path, var_dir=tmp_path))
    assert parsed(text)["program:x"]["command"] == "/bin/sh -c 'echo hi; sleep 9'"


def test_a_malformed_procfile_is_refused_in_chinese(tmp_path: Path) -> None:
    procfile = tmp_path / "Procfile"
    procfile.write_text("app .venv/bin/uvicorn\n", encoding="utf-8")
    assert main(["config", "--procfile", str(procfile), "--var-dir", str(tmp_path)]) == 2


def test_dotenv_values_and_quotes(tmp_path: Path) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text("# secrets\nA=1\nexport B='two words'\nC=\"x=y\"\n\n", encoding="utf-8")
    assert read_dotenv(dotenv) == {"A": "1", "B": "two words", "C": "x=y"}


@pytest.mark.parametrize("value", ["", "changeme", "token", "short"])
def test_an_empty_or_placeholder_rasa_token_is_refused(value: str) -> None:
    (problem,) = secret_problems({"RASA_TOKEN": value})
    assert "RASA_TOKEN" in problem and "占位符" in problem


def test_a_random_rasa_token_passes() -> None:
    assert secret_problems({"RASA_TOKEN": TOKEN}) == []


def test_run_refuses_to_start_with_a_placeholder_token(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("RASA_TOKEN", raising=False)
    dotenv = tmp_path / ".env"
    dotenv.write_text("RASA_TOKEN=changeme\n", encoding="utf-8")
    dotenv.chmod(0o644)
    args = ["run", "--procfile", str(ROOT / "Procfile"), "--var-dir", str(tmp_path / "var")]
    assert main([*args, "--env-file", str(dotenv)]) == 2
    assert "RASA_TOKEN" in capsys.readouterr().err
    assert dotenv.stat().st_mode & 0o777 == 0o600  # secrets: owner only
    assert not (tmp_path / "var" / "supervisord.conf").exists()


# --- supervisord itself, on two sleepers


def rpc(var_dir: Path) -> Any:
    transport = SupervisorTransport(None, None, f"unix://{var_dir / 'supervisor.sock'}")
    return xmlrpc.client.ServerProxy("http://127.0.0.1", transport=transport)


def wait_for(condition: Any, timeout: float = 30) -> Any:
    """Poll ``condition`` until it returns something true (or fail after ``timeout``)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            result = condition()
        except (OSError, xmlrpc.client.Fault):
            result = None
        if result:
            return result
        time.sleep(0.1)
    raise AssertionError(f"not within {timeout} s")


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture
def supervised(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], Path]]:
    sleeper = f"{sys.executable} -c 'import time; time.sleep(600)'"
    procfile = tmp_path / "Procfile"
    procfile.write_text(f"first: {sleeper}\nsecond: {sleeper}\n", encoding="utf-8")
    (tmp_path / ".env").write_text(f"RASA_TOKEN={TOKEN}\n", encoding="utf-8")
    var_dir = tmp_path / "var"
    env = {k: v for k, v in os.environ.items() if k != "RASA_TOKEN"}  # from .env, as make run
    process = subprocess.Popen(
        [sys.executable, "-m", "webapp.supervise", "run", "--procfile", str(procfile)]
        + ["--var-dir", str(var_dir), "--env-file", str(tmp_path / ".env")],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        yield process, var_dir
    finally:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGINT)  # what Ctrl-C sends
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def running_pid(var_dir: Path, name: str) -> int:
    info = rpc(var_dir).supervisor.getProcessInfo(name)
    return int(info["pid"]) if info["statename"] == "RUNNING" else 0


def test_a_killed_process_comes_back_and_ctrl_c_stops_all(
    supervised: tuple[subprocess.Popen[bytes], Path],
) -> None:
    process, var_dir = supervised
    first = wait_for(lambda: running_pid(var_dir, "first"))
    second = wait_for(lambda: running_pid(var_dir, "second"))
    assert (var_dir / "supervisord.pid").exists() and (var_dir / "log" / "first.log").exists()

    os.kill(first, signal.SIGKILL)
    restarted = wait_for(lambda: (pid := running_pid(var_dir, "first")) != first and pid)

    assert restarted != first and alive(restarted)
    assert running_pid(var_dir, "second") == second  # the others were left alone

    os.kill(process.pid, signal.SIGINT)
    assert process.wait(timeout=30) == 0
    assert not alive(restarted) and not alive(second)
