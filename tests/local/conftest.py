"""Fixtures of the local Lambda's engine tests (helpers in engine_helpers.py)."""

from __future__ import annotations

import asyncio
import inspect

import pytest
from engine_helpers import Runtime


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    """Runs ``async def`` tests on a fresh event loop (no plugin needed)."""
    if inspect.iscoroutinefunction(pyfuncitem.obj):
        arguments = {name: pyfuncitem.funcargs[name] for name in pyfuncitem._fixtureinfo.argnames}
        asyncio.run(asyncio.wait_for(pyfuncitem.obj(**arguments), timeout=120))
        return True
    return None


@pytest.fixture(params=["lamina", "awslambdaric"])
def runtime(request: pytest.FixtureRequest) -> Runtime:
    """Runs a runtime-agnostic test with lamina (python3.12) and with awslambdaric
    (provided.al2023, bootstrap from a layer)."""
    return Runtime(request.param)
