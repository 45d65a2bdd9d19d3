"""`python -m relaydesk` runs the CLI."""

from relaydesk.cli import main

main()
