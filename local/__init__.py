"""Local stand-ins for the AWS APIs the notifier uses, for tests, benchmarks and the sandbox."""
