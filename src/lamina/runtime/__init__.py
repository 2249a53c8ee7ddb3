"""The Lambda runtime: Runtime API loop, handler resolution, context, logs."""
