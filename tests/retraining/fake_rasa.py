"""Faithful fakes of the Rasa side for the app's tests: the Rasa environment's two commands
(``rasa train`` and ``python -m nlu.evaluate_model``) as scripts, Rasa's HTTP API
(``POST /model/parse``) on loopback, and a Rasa worker pulling the active model.

The fake ``rasa train`` reads what the real one reads (``--config``, ``--domain`` file or
folder, ``--data`` files and folders, the working directory) and writes a "model": JSON with
what it saw, e.g. every NLU example and its intent. The fake evaluator answers with the
intent a model learned for a text, and ``nlu_fallback`` for texts it never saw.
"""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import jwt

from core.db import make_engine, make_sessionmaker, session_scope
from core.secret import rasa_jwt_secret
from retraining import serving

RASA = """
import argparse, json, os, sys, time
from pathlib import Path
import yaml

home = Path(__file__).resolve().parent.parent
with open(home / "calls.jsonl", "a", encoding="utf-8") as fh:
    fh.write(json.dumps({"argv": sys.argv[1:], "cwd": os.getcwd()}) + "\\n")
parser = argparse.ArgumentParser()
parser.add_argument("command")
parser.add_argument("--config")
parser.add_argument("--domain")
parser.add_argument("--data", nargs="+", default=[])
parser.add_argument("--out")
parser.add_argument("--fixed-model-name")
parser.add_argument("--force", action="store_true")
parser.add_argument("--skip-validation", action="store_true")
args = parser.parse_args()
print("Epochs: 100%", flush=True)
if (home / "sleep").exists():
    time.sleep(float((home / "sleep").read_text()))
if (home / "exit").exists():
    sys.exit(int((home / "exit").read_text()))

def files(path):
    path = Path(path)
    if path.is_dir():
        return sorted(p for p in path.rglob("*.yml") if p.is_file())
    return [path] if path.is_file() else []

examples, rules, intents = {}, [], []
for name in args.data:
    for path in files(name):
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for block in raw.get("nlu") or []:
            if "intent" not in block:
                continue  # synonyms, regexes, lookup tables
            items = block.get("examples") or ""
            if isinstance(items, list):
                texts = [e["text"] for e in items]
            else:
                texts = [ln.strip()[2:] for ln in items.splitlines() if ln.strip()]
            for text in texts:
                examples[text] = block["intent"]
        rules += [r.get("rule") for r in raw.get("rules") or []]
for path in files(args.domain):
    intents += (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("intents") or []
domain = yaml.safe_load(Path(files(args.domain)[0]).read_text(encoding="utf-8"))
taxonomy = yaml.safe_load(Path("data/taxonomy.yml").read_text(encoding="utf-8"))
jieba = {p.name: p.read_text(encoding="utf-8") for p in sorted(Path("data/jieba").glob("*"))}
model = {
    "config": yaml.safe_load(Path(args.config).read_text(encoding="utf-8")),
    "intents": intents,
    "category_buttons": [
        b["title"] for b in domain["responses"]["utter_ask_category"][0]["buttons"]
    ],
    "examples": examples,
    "rules": rules,
    "taxonomy": [c["code"] for c in taxonomy["categories"]],
    "subcategories": {c["code"]: [s["code"] for s in c.get("subcategories") or []]
                      for c in taxonomy["categories"]},
    "jieba": jieba,
}
Path(args.out).mkdir(parents=True, exist_ok=True)
target = Path(args.out) / f"{args.fixed_model_name}.tar.gz"
target.write_text(json.dumps(model, ensure_ascii=False), encoding="utf-8")
"""

EVALUATOR = """
import argparse, json, sys
from pathlib import Path

if sys.argv[1:3] != ["-m", "nlu.evaluate_model"]:
    print("the fake Rasa python only runs nlu.evaluate_model", file=sys.stderr)
    sys.exit(2)
parser = argparse.ArgumentParser()
parser.add_argument("--model", action="append", required=True)
parser.add_argument("--texts", required=True)
parser.add_argument("--out", required=True)
args = parser.parse_args(sys.argv[3:])
texts = json.loads(Path(args.texts).read_text(encoding="utf-8"))

def learned(path):
    try:
        return json.loads(Path(path).read_text(encoding="utf-8")).get("examples") or {}
    except ValueError:
        return {}  # e.g. a model file the test wrote by hand

result = {}
for model in args.model:
    known = learned(model)
    result[model] = [
        {"intent": known.get(t, "nlu_fallback"), "confidence": 0.9, "ranking": []} for t in texts
    ]
Path(args.out).write_text(json.dumps(result, ensure_ascii=False), encoding="utf-8")
"""


def make_rasa_env(folder: Path) -> Path:
    """A Rasa environment folder (``RASA_ENV_DIR``) whose bin/ holds the two fake commands.

    Files in the folder steer the fake ``rasa train``: ``sleep`` (seconds before it
    finishes) and ``exit`` (its exit status); ``calls.jsonl`` lists its invocations.
    """
    bin_dir = folder / "bin"
    bin_dir.mkdir(parents=True)
    for name, body in (("rasa", RASA), ("python", EVALUATOR)):
        script = bin_dir / name
        script.write_text(f"#!{sys.executable}\n{body}", encoding="utf-8")
        script.chmod(0o755)
    return folder


def calls(env: Path) -> list[dict[str, Any]]:
    path = env / "calls.jsonl"
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    return [json.loads(line) for line in lines]


def model(path: Path) -> dict[str, Any]:
    """What the fake ``rasa train`` saw when it made this model."""
    result: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return result


def rasa_jwt_ok(header: str, token: str) -> bool:
    """What Rasa started by nlu/server.py accepts from the project: ``Bearer`` and an
    unexpired HS256 JWT of an admin, signed with the key derived from its token."""
    scheme, _, signed = header.partition(" ")
    if scheme != "Bearer":
        return False
    try:
        payload = jwt.decode(signed, rasa_jwt_secret(token), algorithms=["HS256"])
    except jwt.InvalidTokenError:
        return False
    return bool(payload.get("user", {}).get("role") == "admin")


@dataclass
class FakeRasaServer:
    """Rasa's HTTP API as the app uses it; ``parse`` maps texts to intents (else fallback).

    ``pull_from`` makes it a Rasa worker too: it pulls ``models/petition.tar.gz`` as the
    model endpoint serves it (``retraining.serving``: the same fingerprint, the same record
    of each pull) every 50 ms, and ``loaded`` lists the contents of the models it loaded.
    """

    url: str = ""
    token: str = "rasa-token"
    loaded: list[bytes] = field(default_factory=list)
    parse: dict[str, str] = field(default_factory=dict)
    refuse: bool = False  # the worker cannot load new models (it keeps the one it runs)
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)

    def runs(self, model_file: Path) -> bool:
        return bool(self.loaded) and self.loaded[-1] == model_file.read_bytes()

    def pull_from(self, models_dir: Path, database_url: str, name: str = "fake-worker:1") -> None:
        factory = make_sessionmaker(make_engine(database_url))

        first = threading.Event()

        def pull() -> None:
            running = ""
            while not self._stop.is_set():
                path = models_dir / serving.ACTIVE_FILE
                current = serving.fingerprint_of(path) if path.exists() else ""
                sent = current if current and current != running else None
                with session_scope(factory) as session:
                    serving.record_pull(session, name, running=running)
                first.set()
                if sent and not self.refuse:
                    self.loaded.append(path.read_bytes())
                    running = current
                self._stop.wait(0.05)

        thread = threading.Thread(target=pull, daemon=True, name=f"pull-{name}")
        self._threads.append(thread)
        thread.start()
        first.wait(10)  # a running worker has pulled at least once

    def stop_pulling(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()


def _handler(state: FakeRasaServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _reply(self, status: int, body: dict[str, Any] | None = None) -> None:
            data = json.dumps(body or {}, ensure_ascii=False).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _body(self) -> dict[str, Any]:
            length = int(self.headers.get("Content-Length") or 0)
            result: dict[str, Any] = json.loads(self.rfile.read(length) or b"{}")
            return result

        def _authorised(self) -> bool:
            # As Rasa started by nlu/server.py: a JWT signed with the key derived from its
            # token, in the Authorization header (the project sends no ?token=).
            if not rasa_jwt_ok(self.headers.get("Authorization", ""), state.token):
                self._reply(401, {"message": "User is not authenticated."})
                return False
            return True

        def do_POST(self) -> None:  # noqa: N802
            if urlparse(self.path).path != "/model/parse" or not self._authorised():
                return
            text = self._body().get("text", "")
            intent = state.parse.get(text, "nlu_fallback")
            ranking = [{"name": intent, "confidence": 0.8}]
            ranking += [{"name": "report_other", "confidence": 0.1}]
            ranking += [{"name": "report_disputes", "confidence": 0.05}]
            self._reply(
                200,
                {
                    "text": text,
                    "intent": {"name": intent, "confidence": 0.8},
                    "intent_ranking": ranking,
                    "entities": [],
                },
            )

    return Handler


@contextmanager
def rasa_server() -> Iterator[FakeRasaServer]:
    """The fake Rasa HTTP API on a free loopback port, for the duration of the block."""
    state = FakeRasaServer()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        state.stop_pulling()
        server.shutdown()
        server.server_close()
