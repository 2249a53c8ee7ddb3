"""``python -m lamina [HANDLER]``: the Lambda runtime."""

from lamina.runtime.bootstrap import main

main()
