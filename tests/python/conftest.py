"""Starts `b1force sandbox` on free ports and hands its SAP_/SF_ settings to the tests."""
import os
import subprocess
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
KEYS = ("SAP_URL", "SAP_COMPANY_DB", "SAP_USER", "SAP_PASSWORD", "SF_LOGIN_URL", "SF_CLIENT_ID", "SF_CLIENT_SECRET")


@pytest.fixture(scope="session")
def sandbox():
    binary = os.environ.get("B1FORCE_BIN", str(ROOT / "target" / "debug" / "b1force"))
    proc = subprocess.Popen([binary, "sandbox", "--sap-port", "0", "--sf-port", "0"],
                            stdout=subprocess.PIPE, text=True)
    env = {}
    try:
        while len(env) < len(KEYS):
            line = proc.stdout.readline()
            if not line:
                raise RuntimeError(f"b1force sandbox exited early (code {proc.poll()})")
            key, _, value = line.strip().partition("=")
            if key in KEYS:
                env[key] = value.strip("'\"")
        yield env
    finally:
        proc.terminate()
        proc.wait(timeout=10)
