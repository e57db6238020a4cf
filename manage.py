#!/usr/bin/env python
"""Django's command-line entry point."""
import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.config.settings")
    if sys.argv[1:2] == ["demo"] and not os.environ.get("DEMO_MODE"):
        os.environ["DEMO_MODE"] = "1"  # the demo is demo mode: its own generated secrets (README)
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
