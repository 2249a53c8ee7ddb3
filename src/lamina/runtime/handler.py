"""Finding the user's handler from ``_HANDLER`` during init, with awslambdaric's error types
and messages (../shared/spec/runtime.md section 3)."""

from __future__ import annotations

import importlib
import sys

from lamina.runtime import errors
from lamina.runtime.errors import FaultError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable


def resolve_handler(handler: str) -> Callable[[Any, Any], Any]:
    """Imports ``module.function`` (the module dotted, ``pkg.mod``, or with slashes,
    ``dir/mod``) and returns the function. Raises FaultError for what Lambda reports as
    ``Runtime.*`` init errors; any other exception the module raises at import propagates."""
    try:
        module_name, function_name = handler.rsplit(".", 1)
    except ValueError as exc:
        raise FaultError(errors.MALFORMED_HANDLER_NAME, f"Bad handler '{handler}': {exc}") from None

    if module_name.split(".")[0] in sys.builtin_module_names:
        raise FaultError(
            errors.BUILT_IN_MODULE_CONFLICT, f"Cannot use built-in module {module_name} as a handler module"
        )
    try:
        module = importlib.import_module(module_name.replace("/", "."))
    except ImportError as exc:
        raise FaultError(errors.IMPORT_MODULE_ERROR, f"Unable to import module '{module_name}': {exc}") from None
    except SyntaxError as exc:
        trace = [f'  File "{exc.filename}" Line {exc.lineno}\n    {exc.text}']
        raise FaultError(
            errors.USER_CODE_SYNTAX_ERROR, f"Syntax error in module '{module_name}': {exc}", trace
        ) from None

    try:
        return getattr(module, function_name)
    except AttributeError:
        raise FaultError(
            errors.HANDLER_NOT_FOUND, f"Handler '{function_name}' missing on module '{module_name}'"
        ) from None
