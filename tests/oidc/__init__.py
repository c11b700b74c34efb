"""A real OpenID Connect provider for the tests: panva's oidc-provider (tests/oidc/provider.mjs)
run by node on a loopback address of its own, and a scripted person who signs in at it.

The provider listens on 127.0.0.2, not Duet's 127.0.0.1: another site to the browser, with
cookies of its own, as a real provider is. Its npm packages install from the lock file with
`npm ci` the first time (offline, from npm's cache, when it can); without node or the packages
the tests skip, except in CI (CI set), where that is a failure.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
from html import unescape
from pathlib import Path
from urllib.parse import urljoin

import pytest
import requests

from tests.stack import Process, wait_for_http

HERE = Path(__file__).resolve().parent
HOST = "127.0.0.2"
PASSWORD = "any password"  # the development sign-in page checks none
# Who can sign in at the provider: login (= `sub`) -> claims.
ACCOUNTS = {
    "ada": {"name": "Ada Lovelace", "email": "ada@example.test", "email_verified": True},
    "grace": {"name": "Grace Hopper", "email": "grace@example.test", "email_verified": True},
    # Claims an admin's e-mail without the provider having verified it.
    "mallory": {"name": "Mallory", "email": "grace@example.test", "email_verified": False},
}


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set, so the OpenID Connect tests must run)", pytrace=False)
    pytest.skip(reason)


def install() -> None:
    """`npm ci` in tests/oidc when its node_modules is missing (skip or fail if it cannot)."""
    if not shutil.which("node") or not shutil.which("npm"):
        _unavailable("node and npm are needed to run the OpenID Connect provider")
    if (HERE / "node_modules" / "oidc-provider").is_dir():
        return
    done = subprocess.run(
        ["npm", "ci", "--no-audit", "--no-fund", "--prefer-offline"],
        cwd=HERE,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if done.returncode:
        _unavailable(f"npm ci in tests/oidc failed:\n{done.stdout}\n{done.stderr}")


def free_port(host: str = HOST) -> int:
    """A TCP port nobody listens on right now at `host`."""
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class Provider:
    """The provider process; `issuer` is known before it starts, so that Duet can be
    configured with it first and the provider with Duet's redirect URI after."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.issuer = f"http://{HOST}:{self.port}"
        self.process: Process | None = None

    def start(self, clients: list[dict], logs: Path) -> Provider:
        """Start with `clients` ({client_id, client_secret, redirect_uris}) registered."""
        install()
        env = {
            **os.environ,
            "OIDC_HOST": HOST,
            "OIDC_PORT": str(self.port),
            "OIDC_CLIENTS": json.dumps(clients),
            "OIDC_ACCOUNTS": json.dumps(ACCOUNTS),
        }
        self.process = Process(
            f"oidc-provider-{self.port}", ["node", str(HERE / "provider.mjs")], env, logs
        )
        try:
            wait_for_http(self.issuer + "/.well-known/openid-configuration", self.process)
        except BaseException:
            self.process.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop the provider (everything it issued is forgotten: it keeps state in memory)."""
        if self.process is not None:
            self.process.stop()

    def log(self) -> str:
        """What the provider printed."""
        return self.process.log() if self.process else ""


_FORM = re.compile(r'<form[^>]*action="([^"]+)"[^>]*method="post"', re.I)
_PROMPT = re.compile(r'name="prompt" value="(\w+)"')


def sign_in(authorize_url: str, login: str, redirect_prefix: str) -> str:
    """Follow `authorize_url` as a person would: sign in as `login`, consent, and return the
    URL the provider sends the browser back to (starting with `redirect_prefix`), unvisited."""
    browser = requests.Session()
    url, method, data = authorize_url, "GET", None
    for _ in range(12):
        response = browser.request(method, url, data=data, allow_redirects=False, timeout=10)
        if response.is_redirect:
            location = urljoin(url, response.headers["Location"])
            if location.startswith(redirect_prefix):
                return location
            url, method, data = location, "GET", None
            continue
        assert response.status_code == 200, (response.status_code, response.text[:500])
        form, prompt = _FORM.search(response.text), _PROMPT.search(response.text)
        assert form and prompt, response.text[:500]
        url, method = urljoin(url, unescape(form.group(1))), "POST"
        data = {"prompt": prompt.group(1)}
        if prompt.group(1) == "login":
            data.update(login=login, password=PASSWORD)
    raise AssertionError(f"the provider never sent the browser back to {redirect_prefix}")
