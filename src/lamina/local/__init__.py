"""The local Lambda: execution environments, the Runtime/Extensions/Telemetry APIs they talk
to, and the Invoke API that boto3 and the AWS CLI call (../shared/spec/emulator.md).

``from lamina.local import LocalLambda, LocalLambdaSettings`` — imported lazily, so that the
shared types in :mod:`lamina.local.functions` need no HTTP framework."""

from __future__ import annotations

from typing import Any

__all__ = ["LocalLambda", "LocalLambdaSettings", "Credentials"]


def __getattr__(name: str) -> Any:
    if name == "LocalLambda":
        from lamina.local.service import LocalLambda

        return LocalLambda
    if name in ("LocalLambdaSettings", "Credentials"):
        from lamina.local import settings

        return getattr(settings, name)
    raise AttributeError(f"module 'lamina.local' has no attribute {name!r}")
