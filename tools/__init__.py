"""Commands to run against a deployed stack with your own AWS credentials (`make test-notification`,
`make check-slack`): one module per service they talk to, one per command."""
